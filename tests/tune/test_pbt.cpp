// Population-based training: exploit and explore, and a copied member that starts from its donor's
// weights with its own perturbed learning rate in force.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/train/checkpoint.hpp"
#include "descent/tune/pbt.hpp"
#include "descent/tune/study.hpp"
#include "study_fixture.hpp"

namespace descent::tune {
namespace {

using nlohmann::json;
using namespace descent::tune::testing;

json pbt_config(int population, int generations, double truncation) {
  const std::string text = tiny_base(200, 1) + "[tune]\nname = \"pbt\"\nseed = 5\n[tune.sampler]\nname = \"random\"\n" +
                           "[tune.pbt]\npopulation = " + std::to_string(population) +
                           "\ngenerations = " + std::to_string(generations) + "\ninterval = 1\ntruncation = " +
                           std::to_string(truncation) + "\nresample_probability = 0.0\nperturb_factors = [0.8, 1.2]\n" +
                           "[tune.space.\"optimizer.lr\"]\ntype = \"float\"\nlow = 0.001\nhigh = 0.2\nlog = true\n";
  return train::parse_toml(text, "pbt test");
}

TEST(Pbt, TheBottomFractionCopiesATopMemberAndPerturbsIt) {
  const StudySettings settings = read_study_settings(pbt_config(4, 2, 0.25));
  auto members = first_generation(settings);
  ASSERT_EQ(members.size(), 4u);
  const double values[] = {0.3, 0.1, 0.4, 0.2};  // best: member 1, worst: member 2
  for (std::size_t i = 0; i < 4; ++i) members[i].value = values[i];
  const auto next = next_generation(settings, members);
  ASSERT_EQ(next.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(next[i].generation, 1);
    EXPECT_EQ(next[i].member, std::int64_t(i));
    if (i == 2) continue;
    EXPECT_FALSE(next[i].copied_from);
    EXPECT_EQ(next[i].params, members[i].params);
  }
  // One member (floor(4 * 0.25)) is replaced: the worst, by the best, with lr x 0.8 or x 1.2.
  ASSERT_EQ(next[2].copied_from, 1);
  const double ratio = next[2].params["optimizer.lr"].get<double>() / members[1].params["optimizer.lr"].get<double>();
  EXPECT_TRUE(std::abs(ratio - 0.8) < 1e-12 || std::abs(ratio - 1.2) < 1e-12) << ratio;
  // Deterministic in the seed and the generation.
  EXPECT_EQ(next_generation(settings, members)[2].params, next[2].params);
}

TEST(Pbt, SettingsRefuseWhatCannotBeCopied) {
  json config = pbt_config(2, 2, 0.5);
  config["tune"]["space"]["model.activation"] = {{"type", "categorical"}, {"choices", {"relu", "tanh"}}};
  EXPECT_THROW(read_study_settings(config), Error);
  config = pbt_config(2, 2, 0.5);
  config["schedule"] = {{"name", "steplr"}, {"step_size", 1}};
  EXPECT_THROW(read_study_settings(config), Error);
}

TEST(Pbt, ACopiedMemberStartsFromTheDonorWithItsOwnHyperparameters) {
  const auto dir = scratch("pbt");
  const json raw = pbt_config(2, 2, 0.5);
  create_study(dir, raw);
  WorkerOptions options;
  options.log = std::tmpfile();
  EXPECT_EQ(run_worker(dir, options), 4);  // 2 members x 2 generations, in this process
  std::fclose(options.log);

  const json study = json::parse(testing::read_text(dir / "study.json"));
  EXPECT_EQ(study["sampler"], "pbt");
  ASSERT_EQ(study["pbt"]["generations"].size(), 2u);
  const json& g0 = study["pbt"]["generations"][0]["members"];
  const json& g1 = study["pbt"]["generations"][1]["members"];
  ASSERT_EQ(g1.size(), 2u);
  // The worse member of generation 0 was replaced by the better one.
  const int worse = g0[0]["value"].get<double>() > g0[1]["value"].get<double>() ? 0 : 1;
  ASSERT_EQ(g1[worse]["copied_from"], 1 - worse);
  EXPECT_TRUE(g1[1 - worse]["copied_from"].is_null());
  ASSERT_EQ(study["trials"].size(), 2u);
  for (const auto& t : study["trials"]) {
    EXPECT_EQ(t["state"], "complete");
    EXPECT_EQ(t["intermediate"].size(), 2u);  // one epoch per generation
  }
  EXPECT_FALSE(study["best"].is_null());
  EXPECT_TRUE(std::filesystem::exists(dir / "best.toml"));

  // Rebuild the copied member's generation-1 session: weights are the donor's at the end of generation 0,
  // the lr on the optimizer is the member's perturbed one (not the donor's, which the checkpoint carried).
  StudyStorage storage(dir / "study.db");
  const StudySettings settings = read_study_settings(storage.config());
  StudyStorage::PbtMember member;
  for (const auto& m : storage.pbt_members())
    if (m.generation == 1 && m.member == worse) member = m;
  TrialSession session = open_member_session(settings, dir, member);
  const auto donor = train::load_checkpoint(generation_snapshot(dir, 1 - worse, 0));
  const auto state = session.trainer->model().state_dict();
  ASSERT_FALSE(state.empty());
  for (const auto& [name, tensor] : state) {
    const Tensor& expected = donor.state.tensors.at("model." + name);
    EXPECT_EQ(tensor.to_vector<double>(), expected.to_vector<double>()) << name;
  }
  const double lr = member.params["optimizer.lr"].get<double>();
  const double donor_lr = g0[1 - worse]["params"]["optimizer.lr"].get<double>();
  EXPECT_NE(lr, donor_lr);
  for (std::size_t g = 0; g < session.trainer->optimizer().param_groups().size(); ++g)
    EXPECT_DOUBLE_EQ(session.trainer->optimizer().hyperparameter(g, "lr"), lr);
  EXPECT_EQ(session.trainer->position().epoch, 1);  // continues after the donor's generation
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace descent::tune
