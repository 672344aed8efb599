// Reliability pieces of the train layer: folder locks, stale temporaries, a metrics log that cannot be
// written, config paths anchored at the config's folder, safetensors headers checked before the data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "descent/train/config.hpp"
#include "descent/train/folder_lock.hpp"
#include "descent/train/metrics.hpp"
#include "descent/train/safetensors.hpp"
#include "temp_folder.hpp"

using namespace descent;
using namespace descent::train;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(FolderLock, ASecondHolderIsRefusedUntilTheFirstLetsGo) {
  TempFolder folder;
  const auto run = folder.path() / "run";
  {
    const FolderLock first(run, "run folder");
    const std::string message = error_of([&] { FolderLock second(run, "run folder"); });
    EXPECT_NE(message.find("run folder " + run.string() + " is in use by another descent process (pid " +
                           std::to_string(::getpid()) + ")"),
              std::string::npos)
        << message;
  }
  EXPECT_NO_THROW(FolderLock again(run, "run folder"));
}

TEST(Temporaries, OnlyThoseOfEndedWritersAreRemoved) {
  TempFolder folder;
  const auto dead = folder.path() / ".step-000000051.safetensors.tmp4194305";  // above any pid_max
  const auto alive = folder.path() / (".summary.json.tmp" + std::to_string(::getpid()));
  const auto not_ours = folder.path() / "notes.tmp4194305";  // not a write_file_atomic name
  for (const auto& path : {dead, alive, not_ours}) std::ofstream(path) << "x";
  const auto removed = remove_stale_temporaries(folder.path());
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead);
  EXPECT_TRUE(std::filesystem::exists(alive));
  EXPECT_TRUE(std::filesystem::exists(not_ours));
}

TEST(MetricsLog, AWriteErrorStopsWithTheFileNamed) {
  // /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
  MetricsLog log("/dev/full");
  log.write({{"kind", "step"}, {"step", 1}});
  const std::string message = error_of([&] { log.flush(); });
  EXPECT_NE(message.find("cannot write the metrics log /dev/full: No space left on device"), std::string::npos) << message;
  EXPECT_NE(message.find("descent resume"), std::string::npos) << message;
}

TEST(ConfigPaths, DataPathIsRelativeToTheConfigFile) {
  TempFolder folder;
  std::filesystem::create_directories(folder.path() / "sub");
  const auto file = folder.path() / "sub" / "c.toml";
  std::ofstream(file) << "[data]\ndataset = \"csv\"\npath = \"../data/good.csv\"\n";
  const json raw = load_toml(file);
  EXPECT_EQ(raw["data"]["path"], (folder.path() / "data" / "good.csv").string());
  // On the command line a path is the shell's: relative to the working directory.
  json overridden = raw;
  apply_override(overridden, "data.path=other.csv");
  EXPECT_EQ(overridden["data"]["path"], (std::filesystem::current_path() / "other.csv").string());
  std::ofstream(file) << "[data]\ndataset = \"csv\"\npath = \"/abs/x.csv\"\n";
  EXPECT_EQ(load_toml(file)["data"]["path"], "/abs/x.csv");
}

TEST(SafetensorsHeader, TensorsEndingPastTheFileAreRefusedBeforeTheDataIsRead) {
  TempFolder folder;
  const auto path = folder.path() / "t.safetensors";
  save_safetensors(path, {{"w", full(Shape{4}, 1.0f)}}, {});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  const std::string message = error_of([&] { load_safetensors(path); });
  EXPECT_NE(message.find("its tensors end at data byte 16, past the file's 12 data bytes"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos);
  std::ofstream(path, std::ios::trunc) << std::string(8, '\xff');
  EXPECT_NE(error_of([&] { read_safetensors_metadata(path); }).find("header length"), std::string::npos);
}
