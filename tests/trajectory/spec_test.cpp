// "name(key=value,...)" lists: value kinds, tuples, labels, and errors that name the bad part.
#include <gtest/gtest.h>

#include "descent/core/error.hpp"
#include "descent/trajectory/spec.hpp"

namespace {

using namespace descent::trajectory;

std::string error_of(const std::string& text) {
  try {
    parse_named_options_list(text, "--optimizers");
  } catch (const descent::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no descent::Error for " << text;
  return "";
}

TEST(NamedOptions, ParsesNumbersFlagsTuplesAndStrings) {
  const auto list = parse_named_options_list(
      " sgd(lr=0.01, momentum=0.9,nesterov=true), adam(lr=1e-3,betas=(0.9,0.99)) ,lbfgs(history_size=5,"
      "line_search_fn=strong_wolfe),rprop",
      "--optimizers");
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].label, "sgd(lr=0.01, momentum=0.9,nesterov=true)");
  EXPECT_EQ(list[0].name, "sgd");
  EXPECT_EQ(list[0].options, (nlohmann::json{{"lr", 0.01}, {"momentum", 0.9}, {"nesterov", true}}));
  EXPECT_EQ(list[1].options.at("betas"), (nlohmann::json{0.9, 0.99}));
  EXPECT_DOUBLE_EQ(list[1].options.at("lr").get<double>(), 1e-3);
  EXPECT_TRUE(list[2].options.at("history_size").is_number_integer());
  EXPECT_EQ(list[2].options.at("line_search_fn"), "strong_wolfe");
  EXPECT_EQ(list[3].name, "rprop");
  EXPECT_TRUE(list[3].options.empty());
}

TEST(NamedOptions, RepeatedEntriesGetDistinctLabels) {
  const auto list = parse_named_options_list("adam(lr=0.1),adam(lr=0.1)", "--optimizers");
  EXPECT_EQ(list[0].label, "adam(lr=0.1)");
  EXPECT_EQ(list[1].label, "adam(lr=0.1) #2");
}

TEST(NamedOptions, ErrorsNameTheBadPart) {
  EXPECT_NE(error_of("sgd(lr=0.1").find("unbalanced '('"), std::string::npos);
  EXPECT_NE(error_of("sgd(lr=0.1))").find("unbalanced ')'"), std::string::npos);
  EXPECT_NE(error_of("sgd(lr)").find("'lr' is invalid: expected key=value"), std::string::npos);
  EXPECT_NE(error_of("sgd(lr=)").find("'lr=' has an empty value"), std::string::npos);
  EXPECT_NE(error_of("sgd(lr=1,lr=2)").find("option 'lr' is given twice"), std::string::npos);
  EXPECT_NE(error_of("sgd,,adam").find("an entry is empty"), std::string::npos);
  EXPECT_NE(error_of("adam(betas=(0.9,))").find("empty tuple element"), std::string::npos);
  EXPECT_NE(error_of("sgd(lr=1)x").find("'sgd(lr=1)x' is invalid"), std::string::npos);
}

}  // namespace
