#include "test_util.h"

#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hlsbridge::testing {

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") +
                      "/hlsbridge-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + " failed");
  }
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileOrDie(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool FaultEnv::ShouldFail(FaultStep step) {
  if (step_.load() != step) return false;
  if (skip_ > 0) {
    --skip_;
    return false;
  }
  ++failures_;
  return true;
}

namespace {

class FaultFile : public WritableFile {
 public:
  FaultFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  Status Append(std::string_view data) override {
    if (env_->ShouldFail(FaultStep::kWrite)) {
      // Write part of it first, as a real full disk would.
      (void)base_->Append(data.substr(0, data.size() / 2));
      return Status::IOError(path_, "write", err());
    }
    return base_->Append(data);
  }
  Status Sync() override {
    if (env_->ShouldFail(FaultStep::kFsync)) {
      return Status::IOError(path_, "fsync", err());
    }
    return base_->Sync();
  }
  Status Close() override {
    Status s = base_->Close();
    if (env_->ShouldFail(FaultStep::kClose)) {
      return Status::IOError(path_, "close", err());
    }
    return s;
  }
  void set_err(int e) { err_ = e; }
  int err() const { return err_; }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  int err_ = EIO;
};

}  // namespace

Status FaultEnv::NewWritableFile(const std::string& path,
                                 std::unique_ptr<WritableFile>* result) {
  if (ShouldFail(FaultStep::kOpen)) return Status::IOError(path, "open", err_);
  std::unique_ptr<WritableFile> base;
  Status s = EnvWrapper::NewWritableFile(path, &base);
  if (!s.ok()) return s;
  auto f = std::make_unique<FaultFile>(this, path, std::move(base));
  f->set_err(err_);
  *result = std::move(f);
  return Status::OK();
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  if (ShouldFail(FaultStep::kRename)) return Status::IOError(to, "rename", err_);
  return EnvWrapper::RenameFile(from, to);
}

Status FaultEnv::SyncFile(const std::string& path) {
  if (ShouldFail(FaultStep::kSyncFile)) return Status::IOError(path, "fsync", err_);
  return EnvWrapper::SyncFile(path);
}

Status FaultEnv::SyncDir(const std::string& dir) {
  if (ShouldFail(FaultStep::kSyncDir)) {
    return Status::IOError(dir, "fsync dir", err_);
  }
  return EnvWrapper::SyncDir(dir);
}

}  // namespace hlsbridge::testing
