// Store: where published objects go. The core decides what is published and
// in which order (Playlist, Publisher, Multivariant); a Store carries it out.
// Objects are named by the local paths the core knows: the playlist's path,
// a segment's file path. LocalStore keeps them as the files themselves;
// RemoteStore hands them to an application (an HTTP origin, through FFmpeg's
// http protocol in the muxer), the local files then being a spool.
#ifndef HLSBRIDGE_SRC_STORE_H_
#define HLSBRIDGE_SRC_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "atomic_write.h"
#include "env.h"
#include "status.h"

namespace hlsbridge {

class Store {
 public:
  virtual ~Store() = default;

  // True when objects are the local files themselves: a segment file is
  // published by making it durable where it is (the Publisher's batched
  // fsyncs), nothing is uploaded.
  virtual bool local() const = 0;
  // Replaces the object `path` with the concatenation of `pieces`, so that
  // a reader sees the old or the new object whole, never a mix.
  virtual Status Put(const std::string& path,
                     std::initializer_list<std::string_view> pieces) = 0;
  // Put() with a single attempt, for a caller that must not wait (the
  // muxing thread) and will put again later.
  virtual Status PutOnce(const std::string& path,
                         std::initializer_list<std::string_view> pieces) {
    return Put(path, pieces);
  }
  // Publishes the complete local file `path` as the object of that name.
  // A local store has nothing to do.
  virtual Status PutFile(const std::string& path) = 0;
  // Removes the object `path` (and, for a remote store, a local copy left in
  // the spool). OK when there is none.
  virtual Status Delete(const std::string& path) = 0;
  // The object `path`. An IOError with os_errno() ENOENT when there is none.
  virtual Status Get(const std::string& path, std::string* contents) = 0;
};

// Objects are local files, written with WriteFileAtomically().
class LocalStore : public Store {
 public:
  LocalStore(Env* env, AtomicWriteOptions options) : env_(env), options_(options) {}

  bool local() const override { return true; }
  Status Put(const std::string& path,
             std::initializer_list<std::string_view> pieces) override;
  Status PutFile(const std::string&) override { return Status::OK(); }
  Status Delete(const std::string& path) override;
  Status Get(const std::string& path, std::string* contents) override;

 private:
  Env* const env_;
  const AtomicWriteOptions options_;
};

// What one attempt of a remote operation came to.
enum class RemoteResult {
  kDone,       // done (a 2xx)
  kRetry,      // may heal: a 5xx, a refused connection, a timeout
  kNotFound,   // no such object (Get, Delete)
  kRefused,    // will not heal: a 4xx such as 401, 403, 404 on a directory
};

// The application's side of a remote store; `why` receives the cause of a
// failure ("HTTP 503 Service Unavailable"). Called from any thread of the
// core (the muxing thread, publisher threads), possibly at once.
struct RemoteOps {
  std::function<RemoteResult(const std::string& path, std::string_view data,
                             std::string* why)>
      put;
  std::function<RemoteResult(const std::string& path, std::string* why)> remove;
  std::function<RemoteResult(const std::string& path, std::string* data,
                             std::string* why)>
      get;
};

struct RemoteStoreOptions {
  // How long a failure that may heal is retried, from the first attempt;
  // the waits between attempts start at first_backoff_us and double up to
  // max_backoff_us. A delete is tried once per call (the Playlist retries
  // it later).
  int64_t retry_us = 30'000'000;
  int64_t first_backoff_us = 100'000;
  int64_t max_backoff_us = 2'000'000;
  // A successful put survives a crash of the target (informational).
  bool durable = true;
};

// Objects go to an application's target (RemoteOps), named by their local
// paths; files to put are read from the spool (Env). Errors name the path,
// the operation and the cause: "<path>: PUT: HTTP 403 Forbidden". A refusal
// is an IOError with errno EREMOTEIO; giving up on one that might have
// healed, ETIMEDOUT.
//
// The retry time bounds an outage, not each object: once an operation has
// given up, the next ones are tried once each until one goes through, so
// that the objects queued behind it (and the playlist put at the end of a
// stream) do not wait the whole retry time again each.
class RemoteStore : public Store {
 public:
  using Log = std::function<void(bool error, const std::string& message)>;

  RemoteStore(Env* env, RemoteOps ops, RemoteStoreOptions options, Log log)
      : env_(env), ops_(std::move(ops)), options_(options), log_(std::move(log)) {}

  bool local() const override { return false; }
  Status Put(const std::string& path,
             std::initializer_list<std::string_view> pieces) override;
  Status PutOnce(const std::string& path,
                 std::initializer_list<std::string_view> pieces) override;
  Status PutFile(const std::string& path) override;
  Status Delete(const std::string& path) override;
  Status Get(const std::string& path, std::string* contents) override;

 private:
  // Runs `attempt` until it is done, refused, or the retry time (0: a
  // single try) is over.
  Status Retry(const std::string& path, const char* method, int64_t retry_us,
               const std::function<RemoteResult(std::string* why)>& attempt);
  Status PutBytes(const std::string& path, std::string_view data, bool once);

  Env* const env_;
  const RemoteOps ops_;
  const RemoteStoreOptions options_;
  const Log log_;
  // The last operation gave up: the target is down (see the class comment).
  std::atomic<bool> down_{false};
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_STORE_H_
