#include "descent/train/folder_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "descent/core/error.hpp"

namespace descent::train {

FolderLock::FolderLock(const std::filesystem::path& folder, const char* what) {
  std::filesystem::create_directories(folder);
  const auto path = folder / ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  DESCENT_CHECK(fd_ >= 0, "cannot open ", path.string(), ": ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw Error(std::string(what) + " " + folder.string() + " is in use by another descent process" +
                  (n > 0 ? " (pid " + std::string(holder, std::size_t(n)) + ")" : std::string()) +
                  "; wait for it to end, or pick another folder");
    throw Error("cannot lock " + path.string() + ": " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message above; the lock holds without it.
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace descent::train
