// The one options reader: typed reads, ranges, defaults, the resolved table, and its one error format.
#include <gtest/gtest.h>

#include "descent/core/error.hpp"
#include "descent/core/options.hpp"

using namespace descent;
using nlohmann::json;

namespace {

// The message of the Error that `read` throws, or "" when it throws none.
template <class Read>
std::string error_of(Read read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Options, JoinAndClosestMatch) {
  EXPECT_EQ(join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"x", "y"}, " | "), "x | y");
  EXPECT_EQ(closest_match("batchsize", {"batch_size", "shuffle"}), "batch_size");
  EXPECT_EQ(closest_match("LR", {"lr", "eps"}), "lr");
  EXPECT_EQ(closest_match("zzzzzzzz", {"batch_size", "shuffle"}), "");
}

TEST(Options, ReadsTypedValuesAndDefaults) {
  json resolved;
  OptionTable t(json{{"epochs", 3}, {"lr", 0.5}, {"nesterov", true}, {"mode", "min"}, {"sizes", {1, 2}},
                     {"whole", 4.0}, {"names", {"a"}}, {"column", 2}},
                "config", "trainer", &resolved);
  EXPECT_EQ(t.integer("epochs", 1, 1), 3);
  EXPECT_EQ(t.integer("absent", 7, 1), 7);
  EXPECT_EQ(t.integer("whole", 0), 4);  // an integral float is an integer
  EXPECT_DOUBLE_EQ(t.number("lr", 0.1, 0.0, 1.0), 0.5);
  EXPECT_TRUE(t.flag("nesterov", false));
  EXPECT_EQ(t.choice("mode", "max", {"min", "max"}), "min");
  EXPECT_EQ(t.integers("sizes", {}, 0), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(t.strings("names", {}), std::vector<std::string>{"a"});
  EXPECT_EQ(t.name_or_index("column", "label"), "2");
  EXPECT_FALSE(t.number("missing").has_value());
  t.finish();
  EXPECT_EQ(resolved["epochs"], 3);
  EXPECT_EQ(resolved["absent"], 7);  // defaults are recorded too
  EXPECT_EQ(resolved["mode"], "min");
  EXPECT_FALSE(resolved.contains("missing"));  // an optional read that found nothing records nothing
}

TEST(Options, NullIsAbsentAndNestedTablesResolveInPlace) {
  json resolved;
  OptionTable top(json{{"gamma", nullptr}, {"inner", {{"k", 2}}}}, "config", "", &resolved);
  EXPECT_DOUBLE_EQ(top.number("gamma", 0.1), 0.1);
  OptionTable inner = top.table("inner");
  EXPECT_EQ(inner.integer("k", 0, 0), 2);
  inner.finish();
  top.finish();
  EXPECT_EQ(resolved["inner"]["k"], 2);
  EXPECT_EQ(inner.key_path("k"), "inner.k");
}

TEST(Options, WrongValuesNameTheKeyTheValueAndTheForm) {
  const json node{{"epochs", 0}, {"lr", "fast"}, {"flag", 1}, {"sizes", {1, -2}}, {"mode", "mn"}, {"x", 2.5}};
  EXPECT_EQ(error_of([&] { OptionTable(node, "config", "trainer").integer("epochs", 1, 1); }),
            "config: trainer.epochs = 0: expected an integer in [1, inf]");
  EXPECT_EQ(error_of([&] { OptionTable(node, "config", "trainer").integer("x", 1); }),
            "config: trainer.x = 2.5: expected an integer");
  EXPECT_EQ(error_of([&] { OptionTable(node, "adam").number("lr", 0.1, 0.0, 1.0); }),
            "adam: lr = \"fast\": expected a number in [0, 1]");
  EXPECT_EQ(error_of([&] { OptionTable(node, "adam").number("lr", 0.1); }), "adam: lr = \"fast\": expected a finite number");
  EXPECT_EQ(error_of([&] { OptionTable(node, "s").flag("flag", false); }), "s: flag = 1: expected true or false");
  EXPECT_EQ(error_of([&] { OptionTable(node, "s").integers("sizes", {}, 0); }),
            "s: sizes = [1,-2]: expected an array of integers in [0, inf]");
  EXPECT_EQ(error_of([&] { OptionTable(node, "s").choice("mode", "min", {"min", "max"}); }),
            "s: mode = \"mn\": expected one of min, max (did you mean min?)");
  EXPECT_EQ(error_of([&] { OptionTable(node, "s").number("lr", 1.0, 0.0, 2.0, true); }),
            "s: lr = \"fast\": expected a number in (0, 2]");
  EXPECT_EQ(error_of([&] { OptionTable(json{{"lr", 0.0}}, "s").number("lr", 1.0, 0.0, 2.0, true); }),
            "s: lr = 0.0: expected a number in (0, 2]");
}

TEST(Options, UnknownKeysSuggestTheClosestAndListTheValidOnes) {
  OptionTable t(json{{"epoch", 3}}, "config", "trainer");
  t.integer("epochs", 1, 1);
  t.flag("shuffle", true);
  EXPECT_EQ(error_of([&] { t.finish(); }),
            "config: unknown key trainer.epoch (did you mean trainer.epochs?); valid keys: epochs, shuffle");
  OptionTable none(json{{"zzz", 1}}, "sampler random");
  EXPECT_EQ(error_of([&] { none.finish(); }), "sampler random: unknown key zzz; valid keys: (none)");
  OptionTable accepted(json{{"lr", 1}}, "config", "optimizer");
  accepted.accept("lr");
  EXPECT_EQ(error_of([&] { accepted.finish(); }), "");
}

TEST(Options, RequiredKeysFailAfterUnknownOnes) {
  OptionTable t(json{{"T_mx", 3}}, "cosineannealinglr");
  t.required_integer("T_max");
  EXPECT_EQ(error_of([&] { t.finish(); }),
            "cosineannealinglr: unknown key T_mx (did you mean T_max?); valid keys: T_max");
  OptionTable empty(json::object(), "cosineannealinglr");
  empty.required_integer("T_max", 1);
  EXPECT_EQ(error_of([&] { empty.finish(); }), "cosineannealinglr: T_max is required: expected an integer in [1, inf]");
  OptionTable list(json::object(), "multisteplr");
  EXPECT_FALSE(list.required_integers("milestones", "a list of increasing steps").has_value());
  EXPECT_EQ(error_of([&] { list.finish(); }), "multisteplr: milestones is required: expected a list of increasing steps");
}

TEST(Options, ATableThatIsNotATableIsAnError) {
  EXPECT_EQ(error_of([] { OptionTable(json(5), "config", "trainer"); }),
            "config: trainer = 5: expected a table of options");
  EXPECT_EQ(error_of([] { OptionTable(json::array(), "steplr"); }), "steplr: options = []: expected a table of options");
  EXPECT_EQ(error_of([] { OptionTable(json(), "steplr").finish(); }), "");  // null: an absent table
  EXPECT_EQ(error_of([] { OptionTable(json{{"t", 1}}, "config").table("t"); }),
            "config: t = 1: expected a table of options");
}

TEST(Options, LongValuesAreClippedInMessages) {
  const std::string huge(5000, 'x');
  const std::string message = error_of([&] { OptionTable(json{{"name", 1}, {"v", huge}}, "c").integer("v", 0); });
  EXPECT_LT(message.size(), 1000u);
  EXPECT_NE(message.find("c: v = \"xxx"), std::string::npos);
}
