// The POSIX Env. Every call reports the OS's errno through Status, with the
// path and the step, so an error reaching a user names what failed and why.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "config.h"
#include "env.h"

namespace hlsbridge {

namespace {

// fdatasync where available: a new file's size changed, so its data and size
// are flushed; mtime may lag, which matters for no file of ours.
int SyncData(int fd) {
#if HLSBRIDGE_HAVE_FDATASYNC
  return ::fdatasync(fd);
#else
  return ::fsync(fd);
#endif
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(path_, "write", errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return Status::OK();
  }

  Status Sync() override {
    if (SyncData(fd_) != 0) return Status::IOError(path_, "fsync", errno);
    return Status::OK();
  }

  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    // No retry on EINTR: on Linux the descriptor is released either way.
    if (::close(fd) != 0) return Status::IOError(path_, "close", errno);
    return Status::OK();
  }

 private:
  const std::string path_;
  int fd_;
};

class PosixSyncableFile final : public SyncableFile {
 public:
  PosixSyncableFile(std::string path, int fd, bool directory)
      : path_(std::move(path)), fd_(fd), directory_(directory) {}
  ~PosixSyncableFile() override { ::close(fd_); }

  void StartWriteback() override {
#if HLSBRIDGE_HAVE_SYNC_FILE_RANGE
    // Queues the writeback and returns: the disk works on several files at
    // once, and a later fdatasync waits for less.
    if (!directory_) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
  }

  Status Sync() override {
    const int rc = directory_ ? ::fsync(fd_) : SyncData(fd_);
    if (rc != 0) return Status::IOError(path_, directory_ ? "fsync dir" : "fsync", errno);
    return Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
  const bool directory_;
};

class PosixEnv final : public Env {
 public:
  Status CreateDir(const std::string& dir) override {
    if (dir.empty()) return Status::OK();
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError(dir, "mkdir", ENOTDIR);
    }
    std::string parent = DirName(dir);
    if (parent != dir) {
      Status s = CreateDir(parent);
      if (!s.ok()) return s;
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IOError(dir, "mkdir", errno);
    }
    return Status::OK();
  }

  Status NewWritableFile(const std::string& path,
                         std::unique_ptr<WritableFile>* result) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return Status::IOError(path, "open", errno);
    *result = std::make_unique<PosixWritableFile>(path, fd);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::IOError(to, "rename", errno);
    }
    return Status::OK();
  }

  Status LinkFile(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) != 0) {
      return Status::IOError(from, "link", errno);
    }
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      return Status::IOError(path, "remove", errno);
    }
    return Status::OK();
  }

  Status OpenForSync(const std::string& path, bool directory,
                     std::unique_ptr<SyncableFile>* result) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return Status::IOError(path, directory ? "fsync dir" : "fsync", errno);
    *result = std::make_unique<PosixSyncableFile>(path, fd, directory);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    std::unique_ptr<SyncableFile> d;
    Status s = OpenForSync(dir, true, &d);
    return s.ok() ? d->Sync() : s;
  }

  Status GetChildren(const std::string& dir,
                     std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Status::IOError(dir, "opendir", errno);
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    ::closedir(d);
    return Status::OK();
  }

  bool FileExists(const std::string& path) override {
    return ::access(path.c_str(), F_OK) == 0;
  }

  Status RealPath(const std::string& path, std::string* result) override {
    char* real = ::realpath(path.c_str(), nullptr);
    if (real == nullptr) return Status::IOError(path, "realpath", errno);
    result->assign(real);
    std::free(real);
    return Status::OK();
  }

  Status ReadFile(const std::string& path, std::string* contents) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError(path, "open", errno);
    contents->clear();
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return Status::IOError(path, "read", err);
      }
      if (n == 0) break;
      contents->append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return Status::OK();
  }

  int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t NowUnixMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void SleepForMicros(int64_t micros) override {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
};

}  // namespace

Env* Env::Default() {
  // Leaked on purpose: usable from static destructors of other objects.
  static Env* env = new PosixEnv;
  return env;
}

std::string DirName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') --slash;
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string RelativeDir(std::string_view from, std::string_view to) {
  // Split both into components; the root "/" has none.
  auto split = [](std::string_view p) {
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i < p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      if (j > i) parts.push_back(p.substr(i, j - i));
      i = j + 1;
    }
    return parts;
  };
  const std::vector<std::string_view> a = split(from), b = split(to);
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) {
    ++common;
  }
  std::string rel;
  for (size_t i = common; i < a.size(); ++i) rel.append("../");
  for (size_t i = common; i < b.size(); ++i) {
    rel.append(b[i]);
    rel.push_back('/');
  }
  if (!rel.empty()) rel.pop_back();
  return rel;
}

std::string BaseName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string_view::npos) return std::string(path);
  return std::string(path.substr(slash + 1));
}

}  // namespace hlsbridge
