// The C API of publication targets (hlsbridge_target_*) and their spool.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "c_api_internal.h"

namespace {

using hlsbridge::RemoteResult;

RemoteResult ResultOf(hlsbridge_target_result r) {
  switch (r) {
    case HLSBRIDGE_TARGET_DONE:
      return RemoteResult::kDone;
    case HLSBRIDGE_TARGET_NOT_FOUND:
      return RemoteResult::kNotFound;
    case HLSBRIDGE_TARGET_REFUSED:
      return RemoteResult::kRefused;
    case HLSBRIDGE_TARGET_RETRY:
      break;
  }
  return RemoteResult::kRetry;  // an unknown value: as a failure that may heal
}

// The callbacks' cause of a failure, or a generic one when they gave none.
struct Why {
  char text[512] = {};
  std::string Take(RemoteResult r) const {
    if (text[0] != '\0') return std::string(text, strnlen(text, sizeof(text)));
    return r == RemoteResult::kNotFound ? "not found" : "failed";
  }
};

hlsbridge::RemoteOps OpsOf(const hlsbridge_target_callbacks& cb) {
  hlsbridge::RemoteOps ops;
  ops.put = [cb](const std::string& name, std::string_view data, std::string* why) {
    Why w;
    const RemoteResult r = ResultOf(cb.put(cb.opaque, name.c_str(),
                                           reinterpret_cast<const uint8_t*>(data.data()),
                                           data.size(), w.text, sizeof(w.text)));
    if (r != RemoteResult::kDone) *why = w.Take(r);
    return r;
  };
  ops.remove = [cb](const std::string& name, std::string* why) {
    Why w;
    const RemoteResult r = ResultOf(cb.remove(cb.opaque, name.c_str(), w.text, sizeof(w.text)));
    if (r != RemoteResult::kDone) *why = w.Take(r);
    return r;
  };
  ops.get = [cb](const std::string& name, std::string* data, std::string* why) {
    Why w;
    uint8_t* bytes = nullptr;
    size_t size = 0;
    const RemoteResult r =
        ResultOf(cb.get(cb.opaque, name.c_str(), &bytes, &size, w.text, sizeof(w.text)));
    std::unique_ptr<uint8_t, decltype(&std::free)> owned(bytes, &std::free);
    if (r == RemoteResult::kDone) {
      data->assign(reinterpret_cast<const char*>(bytes), bytes != nullptr ? size : 0);
    } else {
      *why = w.Take(r);
    }
    return r;
  };
  return ops;
}

}  // namespace

extern "C" {

int hlsbridge_target_open(const hlsbridge_target_callbacks* cb, hlsbridge_target** out) {
  if (out != nullptr) *out = nullptr;
  std::string& error = hlsbridge::OpenErrorOfThisThread();
  try {
    error.clear();
    if (cb == nullptr || out == nullptr) {
      error = "hlsbridge_target_open: callbacks and out are required";
      return -EINVAL;
    }
    if (cb->put == nullptr || cb->remove == nullptr || cb->get == nullptr) {
      error = std::string("hlsbridge_target_open: the ") +
              (cb->put == nullptr ? "put" : cb->remove == nullptr ? "remove" : "get") +
              " callback is missing";
      return -EINVAL;
    }
    hlsbridge::RemoteStoreOptions o;
    if (cb->retry_seconds > 0) o.retry_us = static_cast<int64_t>(cb->retry_seconds * 1e6);
    o.durable = cb->durable != 0;
    hlsbridge_log_callback log = cb->log_callback;
    void* opaque = cb->log_opaque;
    auto sink = [log, opaque](bool is_error, const std::string& message) {
      if (log != nullptr) {
        log(opaque, is_error ? HLSBRIDGE_LOG_ERROR : HLSBRIDGE_LOG_WARNING, message.c_str());
      }
    };
    if (!o.durable) {
      sink(false, "the publication target does not say that its puts are durable: "
                  "a crash of the target may lose what it acknowledged");
    }
    auto t = std::make_unique<hlsbridge_target>();
    t->store = std::make_shared<hlsbridge::RemoteStore>(hlsbridge::Env::Default(), OpsOf(*cb),
                                                        o, sink);
    *out = t.release();
    return 0;
  } catch (const std::bad_alloc&) {
    error = "out of memory";
    return -ENOMEM;
  }
}

void hlsbridge_target_close(hlsbridge_target* target) { delete target; }

int hlsbridge_spool_create(const char* parent, char** dir) {
  std::string& error = hlsbridge::OpenErrorOfThisThread();
  try {
    error.clear();
    if (dir == nullptr) return -EINVAL;
    *dir = nullptr;
    std::string base = parent != nullptr && *parent ? parent : "";
    if (base.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp != nullptr && *tmp ? tmp : "/tmp";
    }
    std::string name = base + "/hlsbridge-XXXXXX";
    if (mkdtemp(name.data()) == nullptr) {
      const int err = errno;
      error = hlsbridge::Status::IOError(base, "spool directory", err).message();
      return -err;
    }
    *dir = static_cast<char*>(std::malloc(name.size() + 1));
    if (*dir == nullptr) return -ENOMEM;
    std::memcpy(*dir, name.c_str(), name.size() + 1);
    return 0;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

int hlsbridge_spool_remove(const char* dir) {
  if (dir == nullptr || *dir == '\0') return -EINVAL;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return ec ? -ec.value() : 0;
}

}  // extern "C"
