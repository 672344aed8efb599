#pragma once
// An exclusive lock on a run or comparison folder for the life of the process that writes it: a second
// `descent train --out R` / `descent resume R` (or `descent compare --out C`) refuses with a clear message
// instead of writing the same files at once. The lock is flock() on FOLDER/.lock, which the kernel drops
// when the process ends, however it ends, so a killed run leaves nothing to clean up.
#include <filesystem>

namespace descent::train {

class FolderLock {
 public:
  // Creates the folder when missing; throws descent::Error naming the folder (and the holder's pid when
  // known) when another process holds it.
  FolderLock(const std::filesystem::path& folder, const char* what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace descent::train
