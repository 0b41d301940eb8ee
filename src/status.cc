#include "status.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hlsbridge {

Status Status::IOError(std::string_view context, std::string_view step,
                       int err) {
  std::string message;
  message.reserve(context.size() + step.size() + 48);
  message.append(context).append(": ").append(step).append(": ");
  // strerror() is not thread-safe; the GNU strerror_r returns the text.
  char buf[128];
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  message.append(strerror_r(err, buf, sizeof(buf)));
#else
  if (strerror_r(err, buf, sizeof(buf)) != 0) {
    std::snprintf(buf, sizeof(buf), "error %d", err);
  }
  message.append(buf);
#endif
  return Status(Code::kIOError, err == 0 ? EIO : err, std::move(message));
}

int Status::ToNegativeErrno() const {
  switch (code_) {
    case Code::kOk:
      return 0;
    case Code::kInvalidArgument:
      return -EINVAL;
    case Code::kNoMemory:
      return -ENOMEM;
    case Code::kIOError:
      return -errno_;
  }
  return -EIO;
}

}  // namespace hlsbridge
