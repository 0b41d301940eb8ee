#include "stream_map.h"

#include <algorithm>
#include <cstdint>

namespace hlsbridge {

namespace {

std::vector<std::string_view> Split(std::string_view text,
                                    std::string_view separators) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

Status Refuse(size_t variant, std::string_view item, const std::string& why) {
  return Status::InvalidArgument("var_stream_map: variant #" +
                                 std::to_string(variant) + " ('" +
                                 std::string(item) + "'): " + why);
}

// A value printed in a file name (%v) or in a quoted attribute.
bool IsPrintableName(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char ch) {
    const unsigned char c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f || c == '/' || c == '"' || c == ',';
  });
}

bool ParseIndex(std::string_view digits, unsigned* out) {
  if (digits.empty() || digits.size() > 9) return false;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  *out = value;
  return true;
}

// One "key:value" item of variant number `n` into *spec.
Status ParseItem(size_t n, std::string_view item, VariantSpec* spec) {
  const size_t colon = item.find(':');
  if (colon == std::string_view::npos) {
    return Refuse(n, item, "expected v:N, a:N, s:N or key:value");
  }
  const std::string_view key = item.substr(0, colon);
  const std::string_view value = item.substr(colon + 1);
  if (key == "v" || key == "a" || key == "s") {
    StreamRef ref;
    ref.type = key[0];
    if (!ParseIndex(value, &ref.index)) {
      return Refuse(n, item, "the stream index must be a number");
    }
    spec->streams.push_back(ref);
    return Status::OK();
  }
  std::string* field = key == "name"       ? &spec->name
                       : key == "agroup"   ? &spec->agroup
                       : key == "sgroup"   ? &spec->sgroup
                       : key == "ccgroup"  ? &spec->ccgroup
                       : key == "language" ? &spec->language
                                           : nullptr;
  if (key == "default") {
    if (value != "yes" && value != "YES" && value != "1" && value != "no" &&
        value != "NO" && value != "0") {
      return Refuse(n, item, "default takes yes or no");
    }
    spec->is_default = value == "yes" || value == "YES" || value == "1";
    return Status::OK();
  }
  if (field == nullptr) {
    return Refuse(n, item,
                  "unknown key '" + std::string(key) +
                      "' (known: v, a, s, name, agroup, sgroup, ccgroup, "
                      "language, default)");
  }
  if (value.empty()) return Refuse(n, item, "empty value");
  if (!field->empty()) return Refuse(n, item, "given twice");
  if (!IsPrintableName(value)) {
    return Refuse(n, item,
                  "a '/', '\"', ',' or control character cannot be in a name");
  }
  *field = std::string(value);
  return Status::OK();
}

bool SameStream(const StreamRef& a, const StreamRef& b) {
  return a.type == b.type && a.index == b.index;
}

// Each stream belongs to one variant; names tell variants apart.
Status CheckUnique(const std::vector<VariantSpec>& variants) {
  for (size_t i = 0; i < variants.size(); i++) {
    for (size_t k = 0; k < variants[i].streams.size(); k++) {
      const StreamRef& ref = variants[i].streams[k];
      for (size_t j = 0; j <= i; j++) {
        const size_t end = j == i ? k : variants[j].streams.size();
        for (size_t m = 0; m < end; m++) {
          if (SameStream(ref, variants[j].streams[m])) {
            const std::string item =
                std::string(1, ref.type) + ":" + std::to_string(ref.index);
            return Refuse(i + 1, item,
                          "this stream is already in variant #" +
                              std::to_string(j + 1) +
                              "; each stream goes to one variant");
          }
        }
      }
    }
    for (size_t j = 0; j < i; j++) {
      if (!variants[i].name.empty() && variants[i].name == variants[j].name) {
        return Refuse(i + 1, "name:" + variants[i].name,
                      "variant #" + std::to_string(j + 1) +
                          " has the same name");
      }
    }
  }
  return Status::OK();
}

}  // namespace

Status ParseStreamMap(std::string_view text, std::vector<VariantSpec>* out) {
  std::vector<VariantSpec> variants;
  for (std::string_view word : Split(text, " \t")) {
    if (word.empty()) continue;
    VariantSpec spec;
    const size_t n = variants.size() + 1;
    for (std::string_view item : Split(word, ",")) {
      if (item.empty()) return Refuse(n, word, "empty item");
      Status s = ParseItem(n, item, &spec);
      if (!s.ok()) return s;
    }
    if (spec.streams.empty()) {
      return Refuse(n, word, "names no stream (v:N, a:N or s:N)");
    }
    variants.push_back(std::move(spec));
  }
  if (variants.empty()) {
    return Status::InvalidArgument("var_stream_map: no variant given");
  }
  Status s = CheckUnique(variants);
  if (!s.ok()) return s;
  *out = std::move(variants);
  return Status::OK();
}

}  // namespace hlsbridge
