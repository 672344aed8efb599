#include "descent/tune/pbt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"
#include "descent/search/sampler.hpp"
#include "descent/train/checkpoint.hpp"
#include "descent/train/safetensors.hpp"
#include "worker_support.hpp"

namespace descent::tune {

using nlohmann::json;
using Member = StudyStorage::PbtMember;

namespace {

// Multiplies (or resamples) one numeric value, kept inside the parameter's range and grid.
json perturb_value(const search::ParamSpec& spec, const json& value, const PbtSettings& pbt, Generator& rng) {
  if (rng.uniform() < pbt.resample_probability) return spec.from_unit(rng.uniform());
  const double factor = pbt.perturb_factors[rng.below(pbt.perturb_factors.size())];
  double x = std::clamp(value.get<double>() * factor, spec.low, spec.high);
  if (spec.step && !spec.log) x = std::clamp(spec.low + std::round((x - spec.low) / *spec.step) * *spec.step, spec.low, spec.high);
  if (spec.type == search::ParamType::integer) return json(std::int64_t(std::llround(x)));
  return json(x);
}

bool better(std::optional<double> a, std::optional<double> b, search::Direction direction) {
  if (!a) return false;
  if (!b) return true;
  return direction == search::Direction::minimize ? *a < *b : *a > *b;
}

}  // namespace

std::vector<Member> first_generation(const StudySettings& settings) {
  auto sampler = search::make_sampler(settings.sampler, settings.sampler_options, settings.direction, settings.seed);
  std::vector<Member> members;
  std::vector<search::TrialRecord> history;
  for (std::int64_t i = 0; i < settings.pbt->population; ++i) {
    Member m;
    m.generation = 0;
    m.member = i;
    m.params = sampler->sample(settings.space, history, i);
    search::TrialRecord record;
    record.number = i;
    record.params = m.params;
    history.push_back(record);  // a grid sampler then proposes distinct members
    members.push_back(m);
  }
  return members;
}

std::vector<Member> next_generation(const StudySettings& settings, const std::vector<Member>& finished) {
  const PbtSettings& pbt = *settings.pbt;
  DESCENT_CHECK(!finished.empty(), "pbt: no members to rank");
  const std::int64_t generation = finished.front().generation;
  std::vector<const Member*> ranked;
  for (const auto& m : finished) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(), [&](const Member* a, const Member* b) {
    return better(a->value, b->value, settings.direction) || (a->value == b->value && a->member < b->member);
  });
  const auto size = std::int64_t(ranked.size());
  const std::int64_t cut = std::max<std::int64_t>(1, std::int64_t(std::floor(double(size) * pbt.truncation)));
  Generator rng = Generator(settings.seed).fork(0x70b7000 + std::uint64_t(generation));
  std::vector<Member> next(ranked.size());
  for (std::int64_t rank = 0; rank < size; ++rank) {
    const Member& m = *ranked[std::size_t(rank)];
    Member n;
    n.generation = generation + 1;
    n.member = m.member;
    n.params = m.params;
    if (rank >= size - cut) {  // the bottom fraction: exploit a top member, then explore around it
      const Member& donor = *ranked[rng.below(std::uint64_t(cut))];
      n.copied_from = donor.member;
      n.params = donor.params;
      for (const auto& spec : settings.space.params())
        if (n.params.contains(spec.name)) n.params[spec.name] = perturb_value(spec, n.params[spec.name], pbt, rng);
    }
    next[std::size_t(m.member)] = n;
  }
  return next;
}

std::filesystem::path generation_snapshot(const std::filesystem::path& study_dir, std::int64_t member, std::int64_t generation) {
  return study_dir / trial_run_dir(member) / "generations" / (std::to_string(generation) + ".safetensors");
}

TrialSession open_member_session(const StudySettings& settings, const std::filesystem::path& study_dir, const Member& m) {
  const auto run_dir = study_dir / trial_run_dir(m.member);
  // A first generation restarted after a crash starts from an empty folder (its metrics log must not
  // keep the dead attempt's records); later generations resume from a snapshot, so the log is trimmed to it.
  if (m.generation == 0) std::filesystem::remove_all(run_dir);
  json params = m.params;
  params["trainer.epochs"] = (m.generation + 1) * settings.pbt->interval;
  char name[32];
  std::snprintf(name, sizeof name, "-%04lld", static_cast<long long>(m.member));
  const train::Config config = trial_config(settings.base, params, settings.name + name);
  TrialSession session = open_trial_session(config, run_dir);
  if (m.generation == 0) return session;
  const auto source = generation_snapshot(study_dir, m.copied_from.value_or(m.member), m.generation - 1);
  train::Checkpoint checkpoint = train::load_checkpoint(source);
  // The snapshot ended its fit; this round extends the same run by `interval` epochs.
  checkpoint.state.meta["position"]["finished"] = false;
  session.trainer->load_state(checkpoint.state);
  // The checkpoint brought the donor's hyperparameters; the member's own (perturbed) ones take over.
  auto& optimizer = session.trainer->optimizer();
  for (const auto& [key, value] : m.params.items()) {
    const std::string option = key.substr(std::string("optimizer.").size());
    for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      // Groups exempt from weight decay keep their zero.
      if (option == "weight_decay" && optimizer.hyperparameter(g, option) == 0.0 && g > 0) continue;
      optimizer.set_hyperparameter(g, option, value.get<double>());
    }
  }
  return session;
}

std::int64_t run_pbt_units(StudyStorage& storage, const StudySettings& settings, const std::filesystem::path& study_dir,
                           const WorkerOptions& options, Heartbeat& heartbeat) {
  const WorkerIdentity me = WorkerIdentity::current();
  const PbtSettings& pbt = *settings.pbt;
  std::int64_t done = 0;
  while (true) {
    auto unit = storage.claim_pbt_member(me, settings.stale_after_s);
    if (!unit) {
      const auto members = storage.pbt_members();
      const auto last_done = std::count_if(members.begin(), members.end(), [&](const Member& m) {
        return m.generation == pbt.generations - 1 && m.state == "done";
      });
      if (last_done == pbt.population) break;
      // Members of the current generation are still training elsewhere: the next generation needs them.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const Member m = *unit;
    heartbeat.watch([m](StudyStorage& s) { s.heartbeat_pbt_member(m.generation, m.member); });
    const auto start = std::chrono::steady_clock::now();
    std::optional<double> value;
    std::string error;
    try {
      TrialSession session = open_member_session(settings, study_dir, m);
      const auto run_dir = study_dir / trial_run_dir(m.member);
      const TrialOutcome outcome = train_trial(session, run_dir, settings.metric, [&](std::int64_t epoch, double v) {
        storage.report(m.member, epoch, v);
        return false;
      });
      value = outcome.value;
      const auto snapshot = generation_snapshot(study_dir, m.member, m.generation);
      std::filesystem::create_directories(snapshot.parent_path());
      const auto last = run_dir / "checkpoints" / "last.safetensors";
      const auto temporary = snapshot.parent_path() / (snapshot.filename().string() + ".tmp");
      std::filesystem::copy_file(last, temporary, std::filesystem::copy_options::overwrite_existing);
      std::filesystem::rename(temporary, snapshot);
    } catch (const std::exception& e) {
      error = e.what();
    }
    heartbeat.watch(nullptr);
    // A member whose training failed ranks last (no value) and is replaced by a donor next generation.
    storage.finish_pbt_member(m.generation, m.member, value);
    ++done;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(options.log, "pbt generation %lld member %lld %s=%s in %.1f s %s%s%s%s\n",
                 static_cast<long long>(m.generation), static_cast<long long>(m.member), settings.metric.c_str(),
                 value ? std::to_string(*value).c_str() : "null", seconds, m.params.dump().c_str(),
                 m.copied_from ? (" (copied from " + std::to_string(*m.copied_from) + ")").c_str() : "",
                 error.empty() ? "" : " error: ", error.c_str());
    std::fflush(options.log);

    std::vector<Member> generation;
    for (const auto& x : storage.pbt_members())
      if (x.generation == m.generation) generation.push_back(x);
    const bool complete = std::all_of(generation.begin(), generation.end(), [](const Member& x) { return x.state == "done"; });
    if (complete && m.generation + 1 < pbt.generations) {
      storage.add_pbt_generation(m.generation + 1, next_generation(settings, generation));
    } else if (complete) {
      for (const auto& x : generation) {
        storage.set_trial_params(x.member, x.params);
        storage.finish(x.member, x.value ? search::TrialState::complete : search::TrialState::failed, x.value,
                       x.value ? "" : settings.metric + " is not finite or training failed");
      }
    }
    export_study(study_dir);
  }
  return done;
}

}  // namespace descent::tune
