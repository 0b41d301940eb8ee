#include "store.h"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace hlsbridge {

Status LocalStore::Put(const std::string& path,
                       std::initializer_list<std::string_view> pieces) {
  return WriteFileAtomically(env_, path, pieces, options_);
}

Status LocalStore::Delete(const std::string& path) {
  Status s = env_->RemoveFile(path);
  return s.os_errno() == ENOENT ? Status::OK() : s;
}

Status LocalStore::Get(const std::string& path, std::string* contents) {
  if (!env_->FileExists(path)) return Status::IOError(path, "open", ENOENT);
  return env_->ReadFile(path, contents);
}

Status RemoteStore::Retry(const std::string& path, const char* method, int64_t retry_us,
                          const std::function<RemoteResult(std::string* why)>& attempt) {
  if (down_) retry_us = 0;
  const int64_t start = env_->NowMicros();
  int64_t backoff = options_.first_backoff_us;
  for (int tries = 1;; ++tries) {
    std::string why;
    const RemoteResult r = attempt(&why);
    const std::string what = path + ": " + method + ": " + why;
    switch (r) {
      case RemoteResult::kDone:
        if (down_.exchange(false)) log_(false, path + ": " + method + " went through again");
        if (tries > 1) {
          log_(false, path + ": " + method + " went through after " +
                          std::to_string(tries) + " tries");
        }
        return Status::OK();
      case RemoteResult::kNotFound:
        return Status::IOError(ENOENT, what);
      case RemoteResult::kRefused:
        return Status::IOError(EREMOTEIO, what);
      case RemoteResult::kRetry:
        break;
    }
    const int64_t elapsed = env_->NowMicros() - start;
    if (elapsed + backoff > retry_us) {
      down_ = true;
      return Status::IOError(
          ETIMEDOUT, what + " (gave up after " + std::to_string(tries) +
                         " tries in " + std::to_string(elapsed / 1000) + " ms)");
    }
    if (tries == 1) {
      log_(false, what + "; retrying for up to " + std::to_string(retry_us / 1000) + " ms");
    }
    env_->SleepForMicros(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff_us);
  }
}

Status RemoteStore::PutBytes(const std::string& path, std::string_view data, bool once) {
  return Retry(path, "PUT", once ? 0 : options_.retry_us,
               [&](std::string* why) { return ops_.put(path, data, why); });
}

namespace {

std::string Joined(std::initializer_list<std::string_view> pieces) {
  std::string whole;
  size_t size = 0;
  for (std::string_view p : pieces) size += p.size();
  whole.reserve(size);
  for (std::string_view p : pieces) whole.append(p);
  return whole;
}

}  // namespace

Status RemoteStore::Put(const std::string& path,
                        std::initializer_list<std::string_view> pieces) {
  return PutBytes(path, Joined(pieces), false);
}

Status RemoteStore::PutOnce(const std::string& path,
                            std::initializer_list<std::string_view> pieces) {
  return PutBytes(path, Joined(pieces), true);
}

Status RemoteStore::PutFile(const std::string& path) {
  std::string data;
  Status s = env_->ReadFile(path, &data);
  if (!s.ok()) return s;
  return PutBytes(path, data, false);
}

Status RemoteStore::Delete(const std::string& path) {
  // The spool copy of a map or key is kept until now; a segment's is gone.
  Status local = env_->RemoveFile(path);
  if (!local.ok() && local.os_errno() != ENOENT) log_(true, local.message());
  std::string why;
  switch (ops_.remove(path, &why)) {
    case RemoteResult::kDone:
    case RemoteResult::kNotFound:
      return Status::OK();
    case RemoteResult::kRefused:
      return Status::IOError(EREMOTEIO, path + ": DELETE: " + why);
    case RemoteResult::kRetry:
      break;
  }
  return Status::IOError(EAGAIN, path + ": DELETE: " + why);
}

Status RemoteStore::Get(const std::string& path, std::string* contents) {
  return Retry(path, "GET", options_.retry_us, [&](std::string* why) {
    contents->clear();
    return ops_.get(path, contents, why);
  });
}

}  // namespace hlsbridge
