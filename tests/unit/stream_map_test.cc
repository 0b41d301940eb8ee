// var_stream_map parsing: FFmpeg's syntax, and each kind of bad input
// refused with a message that names the variant and the item.
#include <gtest/gtest.h>

#include "stream_map.h"

namespace hlsbridge {
namespace {

std::vector<VariantSpec> ParseOk(const std::string& text) {
  std::vector<VariantSpec> out;
  Status s = ParseStreamMap(text, &out);
  EXPECT_TRUE(s.ok()) << text << ": " << s.ToString();
  return out;
}

std::string ParseError(const std::string& text) {
  std::vector<VariantSpec> out;
  Status s = ParseStreamMap(text, &out);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_TRUE(out.empty());
  return s.message();
}

TEST(StreamMapTest, TwoMuxedVariants) {
  auto v = ParseOk("v:0,a:0 v:1,a:1");
  ASSERT_EQ(v.size(), 2u);
  ASSERT_EQ(v[1].streams.size(), 2u);
  EXPECT_EQ(v[1].streams[0].type, 'v');
  EXPECT_EQ(v[1].streams[0].index, 1u);
  EXPECT_EQ(v[1].streams[1].type, 'a');
  EXPECT_EQ(v[1].streams[1].index, 1u);
  EXPECT_TRUE(v[0].name.empty());
}

TEST(StreamMapTest, AudioGroupWithAttributes) {
  auto v = ParseOk("a:0,agroup:aud,name:english,language:en,default:yes "
                   "a:1,agroup:aud,name:french,language:fr\t"
                   "v:0,agroup:aud,name:1080p  v:1,agroup:aud,name:720p");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].agroup, "aud");
  EXPECT_EQ(v[0].name, "english");
  EXPECT_EQ(v[0].language, "en");
  EXPECT_TRUE(v[0].is_default);
  EXPECT_FALSE(v[1].is_default);
  EXPECT_EQ(v[3].name, "720p");
  EXPECT_EQ(v[3].agroup, "aud");
}

TEST(StreamMapTest, DefaultValues) {
  EXPECT_TRUE(ParseOk("a:0,default:YES")[0].is_default);
  EXPECT_TRUE(ParseOk("a:0,default:1")[0].is_default);
  EXPECT_FALSE(ParseOk("a:0,default:no")[0].is_default);
  EXPECT_NE(ParseError("a:0,default:maybe").find("default takes yes or no"),
            std::string::npos);
}

TEST(StreamMapTest, RefusedInputsNameVariantAndItem) {
  EXPECT_EQ(ParseError(""), "var_stream_map: no variant given");
  EXPECT_EQ(ParseError("   "), "var_stream_map: no variant given");
  EXPECT_EQ(ParseError("v:0 x:1"),
            "var_stream_map: variant #2 ('x:1'): unknown key 'x' (known: v, "
            "a, s, name, agroup, sgroup, ccgroup, language, default)");
  EXPECT_EQ(ParseError("v:0,a:zero"),
            "var_stream_map: variant #1 ('a:zero'): the stream index must be "
            "a number");
  EXPECT_EQ(ParseError("v:"),
            "var_stream_map: variant #1 ('v:'): the stream index must be a "
            "number");
  EXPECT_EQ(ParseError("v:0,,a:0"),
            "var_stream_map: variant #1 ('v:0,,a:0'): empty item");
  EXPECT_EQ(ParseError("name:x"),
            "var_stream_map: variant #1 ('name:x'): names no stream (v:N, "
            "a:N or s:N)");
  EXPECT_EQ(ParseError("v:0 v:0"),
            "var_stream_map: variant #2 ('v:0'): this stream is already in "
            "variant #1; each stream goes to one variant");
  EXPECT_EQ(ParseError("v:0,v:0"),
            "var_stream_map: variant #1 ('v:0'): this stream is already in "
            "variant #1; each stream goes to one variant");
  EXPECT_EQ(ParseError("v:0,name:a v:1,name:a"),
            "var_stream_map: variant #2 ('name:a'): variant #1 has the same "
            "name");
  EXPECT_NE(ParseError("v:0,name:a/b").find("cannot be in a name"),
            std::string::npos);
  EXPECT_NE(ParseError("v:0,agroup:a\"b").find("cannot be in a name"),
            std::string::npos);
  EXPECT_NE(ParseError("v:0,language:e\rn").find("cannot be in a name"),
            std::string::npos);
  EXPECT_EQ(ParseError("v:0,name:a,name:b"),
            "var_stream_map: variant #1 ('name:b'): given twice");
  EXPECT_EQ(ParseError("v:0,name:"),
            "var_stream_map: variant #1 ('name:'): empty value");
  EXPECT_EQ(ParseError("v0"),
            "var_stream_map: variant #1 ('v0'): expected v:N, a:N, s:N or "
            "key:value");
  EXPECT_NE(ParseError("v:99999999999").find("must be a number"),
            std::string::npos);
}

}  // namespace
}  // namespace hlsbridge
