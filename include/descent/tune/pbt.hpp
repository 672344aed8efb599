#pragma once
// Population-based training over a study's storage (settings.hpp describes [tune.pbt]).
//
// Generation g of member m is one work unit: train the member's run folder (trials/NNNN) up to
// (g + 1) * interval epochs, starting from the end of generation g - 1: its own snapshot, or, when the
// member was replaced, the donor's (weights, optimizer state and the rest of the training state), with the
// member's (perturbed) hyperparameters set on the optimizer after loading. Each finished unit keeps a
// snapshot in trials/NNNN/generations/<g>.safetensors. Whoever finishes a generation's last unit creates
// the next generation (exploit and explore, deterministic in the seed and the generation), so any number
// of workers can share the population.
#include <filesystem>
#include <vector>

#include "descent/tune/settings.hpp"
#include "descent/tune/storage.hpp"
#include "descent/tune/trial.hpp"

namespace descent::tune {

// Generation 0: `population` members with params drawn by the study's sampler (trial numbers 0..P-1).
std::vector<StudyStorage::PbtMember> first_generation(const StudySettings& settings);

// Exploit and explore after `finished` (one generation, every member with its value): the bottom
// truncation fraction copies a random member of the top fraction and perturbs its params.
std::vector<StudyStorage::PbtMember> next_generation(const StudySettings& settings,
                                                     const std::vector<StudyStorage::PbtMember>& finished);

// The member's training session for its generation: a fresh model for generation 0, else the state of
// the (donor's) previous-generation snapshot with the member's params set on every parameter group.
TrialSession open_member_session(const StudySettings& settings, const std::filesystem::path& study_dir,
                                 const StudyStorage::PbtMember& member);

// The snapshot of `member` at the end of `generation`.
std::filesystem::path generation_snapshot(const std::filesystem::path& study_dir, std::int64_t member, std::int64_t generation);

}  // namespace descent::tune
