// Env: the one seam between the playlist core and the operating system.
// Every file operation and every clock reading goes through it, so a test can
// inject a failure at any step (EnvWrapper) or move time by hand.
#ifndef HLSBRIDGE_SRC_ENV_H_
#define HLSBRIDGE_SRC_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace hlsbridge {

// A file open for writing. Not thread-safe; one owner.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data`, retrying short writes and EINTR.
  virtual Status Append(std::string_view data) = 0;
  // Makes the written data durable (fdatasync where available, else fsync).
  virtual Status Sync() = 0;
  // Closes the file; a close error (e.g. deferred ENOSPC on NFS) is reported.
  // Must be called once; the destructor closes silently if it was not.
  virtual Status Close() = 0;
};

// A file or directory held open so that it can be made durable later: the
// data of the file as it was opened, even if it is renamed meanwhile. One
// owner; not thread-safe.
class SyncableFile {
 public:
  virtual ~SyncableFile() = default;
  // Starts writing back the file's dirty data without waiting for it; a
  // hint that may do nothing (and does for a directory).
  virtual void StartWriteback() {}
  // Makes the file's data (a directory: its entries) durable: fdatasync
  // (fsync where missing; fsync for a directory). Errors name the path and
  // the step ("fsync", "fsync dir").
  virtual Status Sync() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX environment. Never deleted.
  static Env* Default();

  // Creates `dir` and its missing parents with mode 0755 (less the umask).
  // OK when it already exists as a directory.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Creates a new file exclusively (O_CREAT|O_EXCL|O_CLOEXEC, mode 0666 less
  // the umask). Fails with EEXIST if it exists.
  virtual Status NewWritableFile(const std::string& path,
                                 std::unique_ptr<WritableFile>* result) = 0;
  // rename(2): atomically replaces `to`.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // link(2): a second name for `from`.
  virtual Status LinkFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Opens an existing file (or, with `directory`, a directory) read-only,
  // written by someone else (a segment written through FFmpeg's I/O), to be
  // made durable later through *result. Errors name the path and the step
  // ("fsync", "fsync dir").
  virtual Status OpenForSync(const std::string& path, bool directory,
                             std::unique_ptr<SyncableFile>* result) = 0;
  // fsync of the directory itself, which makes renames in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Names of the entries of `dir`, without "." and "..".
  virtual Status GetChildren(const std::string& dir,
                             std::vector<std::string>* names) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // realpath(3): the absolute path of an existing file or directory, with
  // no ".", ".." or symbolic link in it.
  virtual Status RealPath(const std::string& path, std::string* result) = 0;
  // The whole content of a file (small ones: an init section).
  virtual Status ReadFile(const std::string& path, std::string* contents) = 0;

  // Monotonic clock, microseconds from an arbitrary origin.
  virtual int64_t NowMicros() = 0;
  // Wall clock, microseconds since the Unix epoch.
  virtual int64_t NowUnixMicros() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;
};

// Forwards every call to another Env; tests override what they need.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}

  Status CreateDir(const std::string& dir) override {
    return target_->CreateDir(dir);
  }
  Status NewWritableFile(const std::string& path,
                         std::unique_ptr<WritableFile>* result) override {
    return target_->NewWritableFile(path, result);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status LinkFile(const std::string& from, const std::string& to) override {
    return target_->LinkFile(from, to);
  }
  Status RemoveFile(const std::string& path) override {
    return target_->RemoveFile(path);
  }
  Status OpenForSync(const std::string& path, bool directory,
                     std::unique_ptr<SyncableFile>* result) override {
    return target_->OpenForSync(path, directory, result);
  }
  Status SyncDir(const std::string& dir) override {
    return target_->SyncDir(dir);
  }
  Status GetChildren(const std::string& dir,
                     std::vector<std::string>* names) override {
    return target_->GetChildren(dir, names);
  }
  bool FileExists(const std::string& path) override {
    return target_->FileExists(path);
  }
  Status RealPath(const std::string& path, std::string* result) override {
    return target_->RealPath(path, result);
  }
  Status ReadFile(const std::string& path, std::string* contents) override {
    return target_->ReadFile(path, contents);
  }
  int64_t NowMicros() override { return target_->NowMicros(); }
  int64_t NowUnixMicros() override { return target_->NowUnixMicros(); }
  void SleepForMicros(int64_t micros) override {
    target_->SleepForMicros(micros);
  }

 private:
  Env* const target_;
};

// "a/b/c.m3u8" -> "a/b"; "c.m3u8" -> "."; "/c.m3u8" -> "/".
std::string DirName(std::string_view path);
// "a/b/c.m3u8" -> "c.m3u8".
std::string BaseName(std::string_view path);
// The relative path from directory `from` to directory `to`, both absolute
// and canonical (Env::RealPath): "../../x/y", "y", or "" when they are the
// same. Components are compared whole: "/a/bc" is not inside "/a/b".
std::string RelativeDir(std::string_view from, std::string_view to);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_ENV_H_
