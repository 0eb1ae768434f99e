#include "core/http/form.h"

#include <gtest/gtest.h>

#include <cstring>

namespace portico::http {
namespace {

TEST(UrlEncodedFormTest, DecodesInOrder) {
  auto f = ParseUrlEncodedForm("client_id=abc&scope=openid%2CAdobeID+x&empty=&flag");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->Get("client_id"), "abc");
  EXPECT_EQ(*f->Get("scope"), "openid,AdobeID x");
  EXPECT_EQ(*f->Get("empty"), "");
  EXPECT_EQ(*f->Get("flag"), "");
  EXPECT_FALSE(f->Get("missing"));
}

TEST(UrlEncodedFormTest, RefusesMalformedInput) {
  EXPECT_FALSE(ParseUrlEncodedForm("a=%zz").ok());
  EXPECT_FALSE(ParseUrlEncodedForm("a=%4").ok());
  EXPECT_FALSE(ParseUrlEncodedForm("a=%").ok());
  EXPECT_FALSE(ParseUrlEncodedForm("a=%00").ok());
  EXPECT_FALSE(ParseUrlEncodedForm("a=%ff%fe").ok());  // not UTF-8
  EXPECT_FALSE(ParseUrlEncodedForm("a=%C0%AF").ok());  // overlong encoding
}

TEST(UrlEncodedFormTest, CountsDuplicates) {
  auto f = ParseUrlEncodedForm("a=1&a=2");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->Count("a"), 2u);
}

// A reader handing out its data in tiny pieces, to exercise delimiters split across reads.
class TrickleReader final : public BodyReader {
 public:
  TrickleReader(std::string data, size_t step) : data_(std::move(data)), step_(step) {}
  StatusOr<size_t> Read(std::span<char> buf) override {
    size_t n = std::min({buf.size(), step_, data_.size() - off_});
    std::memcpy(buf.data(), data_.data() + off_, n);
    off_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t step_;
  size_t off_ = 0;
};

std::string Multipart(const std::string& boundary) {
  return "--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nabc\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".bin\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         std::string("x\r\n--not-the-boundary\r\n-", 25) + "\r\n--" + boundary + "--\r\nepilogue";
}

TEST(MultipartTest, StreamsPartsAcrossTinyReads) {
  for (size_t step : {1u, 3u, 7u, 64u, 100000u}) {
    TrickleReader body(Multipart("XyZ"), step);
    MultipartReader reader(body, "XyZ");
    auto p1 = reader.NextPart();
    ASSERT_TRUE(p1.ok()) << p1.status().ToString();
    ASSERT_TRUE(p1->has_value());
    EXPECT_EQ((*p1)->name, "client_id");
    EXPECT_FALSE((*p1)->filename);
    char buf[5];
    std::string v;
    for (;;) {
      auto n = reader.Read(buf);
      ASSERT_TRUE(n.ok());
      if (*n == 0) break;
      v.append(buf, *n);
    }
    EXPECT_EQ(v, "abc");
    auto p2 = reader.NextPart();
    ASSERT_TRUE(p2.ok()) << p2.status().ToString();
    ASSERT_TRUE(p2->has_value());
    EXPECT_EQ(*(*p2)->filename, "a \"b\".bin");
    EXPECT_EQ((*p2)->content_type, "application/octet-stream");
    v.clear();
    for (;;) {
      auto n = reader.Read(buf);
      ASSERT_TRUE(n.ok());
      if (*n == 0) break;
      v.append(buf, *n);
    }
    EXPECT_EQ(v, std::string("x\r\n--not-the-boundary\r\n-", 25));
    auto end = reader.NextPart();
    ASSERT_TRUE(end.ok());
    EXPECT_FALSE(end->has_value());
  }
}

TEST(MultipartTest, RefusesTruncatedAndMalformedBodies) {
  std::string full = Multipart("B");
  for (size_t cut : {size_t{5}, size_t{40}, full.size() - 14}) {
    StringBodyReader body(full.substr(0, cut));
    MultipartReader reader(body, "B");
    bool failed = false;
    for (int i = 0; i < 5 && !failed; ++i) {
      auto p = reader.NextPart();
      if (!p.ok()) {
        failed = true;
        break;
      }
      if (!p->has_value()) break;
    }
    EXPECT_TRUE(failed) << "cut at " << cut;
  }
  StringBodyReader no_disposition("--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--");
  MultipartReader r2(no_disposition, "B");
  EXPECT_FALSE(r2.NextPart().ok());
}

TEST(MultipartTest, LimitsPartCount) {
  std::string body;
  for (int i = 0; i < 5; ++i)
    body += "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  body += "--B--";
  StringBodyReader reader_body(body);
  MultipartReader reader(reader_body, "B", MultipartLimits{.max_parts = 3});
  Status last;
  for (int i = 0; i < 6; ++i) {
    auto p = reader.NextPart();
    if (!p.ok()) {
      last = p.status();
      break;
    }
  }
  EXPECT_FALSE(last.ok());
}

TEST(MultipartTest, Boundary) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'a')).ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=a\x01").ok());
}

}  // namespace
}  // namespace portico::http
