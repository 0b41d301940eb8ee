#include "atomic_write.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>

namespace hlsbridge {

namespace {

constexpr int kRandomChars = 6;
constexpr std::string_view kTempFileSuffix = ".tmp";
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Not cryptographic: the name only has to differ from names that other
// writers (threads, processes) pick at the same moment; O_EXCL settles the
// rest and we retry on EEXIST.
std::string RandomSuffix(Env* env) {
  static std::atomic<uint64_t> counter{0};
  uint64_t x = static_cast<uint64_t>(env->NowUnixMicros()) ^
               (static_cast<uint64_t>(::getpid()) << 32) ^
               (counter.fetch_add(1, std::memory_order_relaxed) *
                0x9E3779B97F4A7C15ull);
  // splitmix64 finalizer spreads the bits.
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  std::string s(kRandomChars, 'A');
  for (int i = 0; i < kRandomChars; ++i) {
    s[i] = kAlphabet[x % kAlphabet.size()];
    x /= kAlphabet.size();
  }
  return s;
}

// Built with append(): GCC 12 at -O3 reports a false -Wrestrict for the
// equivalent chain of operator+ on temporaries.
std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  if (dir != "/") path.append(dir);
  path.push_back('/');
  path.append(name);
  return path;
}

}  // namespace

std::string TempFilePrefix(std::string_view path) {
  return ".playlist-" + BaseName(path) + "-";
}

bool IsTempFileFor(std::string_view path, std::string_view name) {
  const std::string prefix = TempFilePrefix(path);
  if (name.size() != prefix.size() + kRandomChars + kTempFileSuffix.size()) {
    return false;
  }
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(name.size() - kTempFileSuffix.size()) != kTempFileSuffix) {
    return false;
  }
  for (char c : name.substr(prefix.size(), kRandomChars)) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

Status WriteFileAtomically(Env* env, const std::string& path,
                           std::string_view data,
                           const AtomicWriteOptions& options) {
  return WriteFileAtomically(env, path, {data}, options);
}

Status WriteFileAtomically(Env* env, const std::string& path,
                           std::initializer_list<std::string_view> pieces,
                           const AtomicWriteOptions& options) {
  const std::string dir = DirName(path);
  const std::string prefix = TempFilePrefix(path);

  std::string tmp;
  std::unique_ptr<WritableFile> file;
  Status s;
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = JoinPath(dir, prefix + RandomSuffix(env) + std::string(kTempFileSuffix));
    s = env->NewWritableFile(tmp, &file);
    if (s.ok() || s.os_errno() != EEXIST) break;
  }
  if (!s.ok()) return Status::IOError(path, "open", s.os_errno());

  // From here on every failure removes the temp file; the first error wins.
  auto fail = [&](std::string_view step, const Status& cause) {
    file.reset();
    (void)env->RemoveFile(tmp);
    return Status::IOError(path, step, cause.os_errno());
  };

  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    s = file->Append(piece);
    if (!s.ok()) return fail("write", s);
  }
  if (options.sync_file) {
    s = file->Sync();
    if (!s.ok()) return fail("fsync", s);
  }
  s = file->Close();
  if (!s.ok()) return fail("close", s);
  file.reset();

  // To undo the rename if the directory fsync fails, keep the previous file
  // under a second name (a temp name of ours, so a crash leaves nothing that
  // the next open would not clean up). Without it a failed write would leave
  // the new content in place while we report failure.
  std::string backup;
  bool had_previous = false;
  if (options.sync_dir) {
    had_previous = env->FileExists(path);
    if (had_previous) {
      for (int attempt = 0; attempt < 100; ++attempt) {
        std::string candidate = JoinPath(
            dir, prefix + RandomSuffix(env) + std::string(kTempFileSuffix));
        Status ls = env->LinkFile(path, candidate);
        if (ls.ok()) {
          backup = std::move(candidate);
          break;
        }
        // No hard links on this file system (or the file just vanished):
        // go on without the ability to roll back.
        if (ls.os_errno() != EEXIST) break;
      }
    }
  }

  s = env->RenameFile(tmp, path);
  if (!s.ok()) {
    (void)env->RemoveFile(tmp);
    if (!backup.empty()) (void)env->RemoveFile(backup);
    return Status::IOError(path, "rename", s.os_errno());
  }

  if (options.sync_dir) {
    s = env->SyncDir(dir);
    if (!s.ok()) {
      // Put the previous playlist back (or take the new one away if there was
      // none), so that what is visible matches what we report.
      if (!backup.empty()) {
        if (!env->RenameFile(backup, path).ok()) (void)env->RemoveFile(backup);
      } else if (!had_previous) {
        (void)env->RemoveFile(path);
      }
      return Status::IOError(path, "fsync dir", s.os_errno());
    }
    if (!backup.empty()) (void)env->RemoveFile(backup);
  }
  return Status::OK();
}

Status RemoveStaleTempFiles(Env* env, const std::string& path, int* removed) {
  if (removed != nullptr) *removed = 0;
  const std::string dir = DirName(path);
  std::vector<std::string> names;
  Status s = env->GetChildren(dir, &names);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    if (!IsTempFileFor(path, name)) continue;
    Status rs = env->RemoveFile(JoinPath(dir, name));
    if (!rs.ok() && rs.os_errno() != ENOENT) return rs;
    if (rs.ok() && removed != nullptr) ++*removed;
  }
  return Status::OK();
}

}  // namespace hlsbridge

