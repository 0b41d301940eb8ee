// Status: the result of an operation that can fail. Errors are values; no
// exception crosses any interface of the core.
#ifndef HLSBRIDGE_SRC_STATUS_H_
#define HLSBRIDGE_SRC_STATUS_H_

#include <string>
#include <string_view>

namespace hlsbridge {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kInvalidArgument, kIOError, kNoMemory };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  // `message` names the input and what is wrong with it.
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, 0, std::move(message));
  }
  // Renders "<context>: <step>: <strerror(err)>"; `err` is a positive errno.
  static Status IOError(std::string_view context, std::string_view step,
                        int err);
  // An I/O error whose message is given whole (a remote target's words);
  // `err` is a positive errno (EREMOTEIO: the target refused for good).
  static Status IOError(int err, std::string message) {
    return Status(Code::kIOError, err, std::move(message));
  }
  static Status NoMemory(std::string message) {
    return Status(Code::kNoMemory, 0, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  // The errno behind an I/O error (positive), 0 otherwise.
  int os_errno() const { return errno_; }
  // 0 when ok, else a negative errno value: -EINVAL, -ENOMEM or -os_errno().
  int ToNegativeErrno() const;
  // "OK" or the message.
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }

 private:
  Status(Code code, int err, std::string message)
      : code_(code), errno_(err), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_STATUS_H_
