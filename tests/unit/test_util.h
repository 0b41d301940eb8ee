// Helpers shared by the unit tests: a scratch directory on the real file
// system, file reading, and an Env that fails on demand.
#ifndef HLSBRIDGE_TESTS_UNIT_TEST_UTIL_H_
#define HLSBRIDGE_TESTS_UNIT_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "env.h"

namespace hlsbridge::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data);
// Sorted directory entries.
std::vector<std::string> ListDir(const std::string& dir);

// The steps of an atomic write where FaultEnv can inject an error, and the
// fsync of a segment file handed to a Publisher (kSyncFile; its directory's
// fsync through OpenForSync is kSyncDir too).
enum class FaultStep {
  kNone, kOpen, kWrite, kFsync, kClose, kRename, kSyncDir, kSyncFile
};

// Forwards to the POSIX Env; fails the chosen step with the chosen errno
// (after letting `skip` occurrences pass), and runs a manual clock when
// asked to.
class FaultEnv : public EnvWrapper {
 public:
  FaultEnv() : EnvWrapper(Env::Default()) {}

  void Fail(FaultStep step, int err, int skip = 0) {
    step_ = step;
    err_ = err;
    skip_ = skip;
  }
  int failures() const { return failures_; }

  // Manual clock: NowMicros returns this value; SleepForMicros advances it.
  void UseManualClock(int64_t start_us) {
    manual_ = true;
    now_us_ = start_us;
  }
  void Advance(int64_t us) { now_us_ += us; }

  bool ShouldFail(FaultStep step);

  Status NewWritableFile(const std::string& path,
                         std::unique_ptr<WritableFile>* result) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status OpenForSync(const std::string& path, bool directory,
                     std::unique_ptr<SyncableFile>* result) override;
  int err() const { return err_; }
  int64_t NowMicros() override {
    return manual_ ? now_us_.load() : EnvWrapper::NowMicros();
  }
  void SleepForMicros(int64_t us) override {
    if (manual_) {
      now_us_ += us;
    } else {
      EnvWrapper::SleepForMicros(us);
    }
  }

 private:
  std::atomic<FaultStep> step_{FaultStep::kNone};
  std::atomic<int> err_{0};
  std::atomic<int> skip_{0};
  std::atomic<int> failures_{0};
  std::atomic<bool> manual_{false};
  std::atomic<int64_t> now_us_{0};
};

// A file system in memory (absolute paths only, "/" exists) and a manual
// clock, for tests of the playlist's rules that need no disk: fast, and the
// same on every machine. A file's content is visible while it is written,
// as on a real file system; a link is a copy. Thread-safe.
class MemEnv : public Env {
 public:
  MemEnv();

  // The content of a file, or "" when there is none.
  std::string Contents(const std::string& path);
  void Advance(int64_t us) { now_us_ += us; }

  Status CreateDir(const std::string& dir) override;
  Status NewWritableFile(const std::string& path,
                         std::unique_ptr<WritableFile>* result) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status LinkFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status OpenForSync(const std::string& path, bool directory,
                     std::unique_ptr<SyncableFile>* result) override;
  Status SyncDir(const std::string& dir) override;
  Status GetChildren(const std::string& dir,
                     std::vector<std::string>* names) override;
  bool FileExists(const std::string& path) override;
  Status RealPath(const std::string& path, std::string* result) override;
  Status ReadFile(const std::string& path, std::string* contents) override;
  int64_t NowMicros() override { return now_us_; }
  int64_t NowUnixMicros() override { return int64_t{1795498910} * 1000000 + now_us_; }
  void SleepForMicros(int64_t us) override { now_us_ += us; }

  // For MemEnv's files: appends to the stored content.
  void Append(const std::string& path, std::string_view data);

 private:
  bool IsDirLocked(const std::string& path) const;
  std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_;
  std::atomic<int64_t> now_us_{0};
};

}  // namespace hlsbridge::testing

#endif  // HLSBRIDGE_TESTS_UNIT_TEST_UTIL_H_
