// StreamMap: FFmpeg's var_stream_map option, parsed. Which streams make up
// each variant of an ABR ladder, and how each variant is named and grouped.
#ifndef HLSBRIDGE_SRC_STREAM_MAP_H_
#define HLSBRIDGE_SRC_STREAM_MAP_H_

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace hlsbridge {

// "v:1": the second video stream of the output.
struct StreamRef {
  char type = 'v';  // 'v' video, 'a' audio, 's' subtitles
  unsigned index = 0;
};

struct VariantSpec {
  std::vector<StreamRef> streams;  // in the order given, at least one
  std::string name;                // name:, replaces %v; "" for the index
  std::string agroup;              // agroup:, an audio group
  std::string sgroup;              // sgroup:
  std::string ccgroup;             // ccgroup:
  std::string language;            // language:
  bool is_default = false;         // default:yes (or 1)
};

// Parses `text`: variants separated by spaces (or tabs), each a
// comma-separated list of "v:N", "a:N", "s:N" and "key:value" attributes
// (name, agroup, sgroup, ccgroup, language, default). Refuses, with a
// message naming the variant (1-based) and the item, an empty map, a
// variant without streams, an unknown key, a malformed index, an empty or
// repeated attribute, a stream named twice (in one variant or two), a
// name or group with a character that has no place in a file name or a
// quoted attribute ('/', '"', ',', a control character), and two variants
// with the same name.
Status ParseStreamMap(std::string_view text, std::vector<VariantSpec>* out);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_STREAM_MAP_H_
