#include "core/http/form.h"

#include <algorithm>
#include <cstring>

#include "core/byte_scan.h"

namespace portico::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

StatusOr<std::string> DecodeComponent(std::string_view in) {
  // Written through a pointer into a buffer sized once (a token request's form carries an
  // assertion of about 1 KB, with nothing to decode): runs without '%', '+', NUL or bytes >= 0x80
  // are found eight bytes at a time and copied whole; the NUL and UTF-8 checks run only when such
  // a byte was decoded.
  std::string out(in.size(), '\0');
  char* o = out.data();
  bool unusual = false;  // a NUL or a byte >= 0x80 was decoded
  const char* p = in.data();
  const char* const end = p + in.size();
  for (;;) {
    using namespace bytescan;
    const char* run = p;
    p = SkipPlain(
        p, end,
        [](uint64_t w) {
          return AnyHigh(w) | AnyBelow(w, 1) | AnyEqual(w, '%') | AnyEqual(w, '+');
        },
        [](unsigned char c) { return c == '%' || c == '+' || c == 0 || c >= 0x80; });
    if (p != run) {
      std::memcpy(o, run, static_cast<size_t>(p - run));
      o += p - run;
    }
    if (p == end) break;
    char c = *p;
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (end - p < 3) return InvalidArgument("malformed percent escape in form body");
      int hi = HexValue(p[1]), lo = HexValue(p[2]);
      if (hi < 0 || lo < 0) return InvalidArgument("malformed percent escape in form body");
      c = static_cast<char>(hi * 16 + lo);
      p += 2;
    }
    ++p;
    unusual |= c == '\0' || static_cast<unsigned char>(c) >= 0x80;
    *o++ = c;
  }
  out.resize(static_cast<size_t>(o - out.data()));
  if (unusual) {
    if (out.find('\0') != std::string::npos)
      return InvalidArgument("form field contains a NUL character");
    if (!ValidUtf8(out)) return InvalidArgument("form field is not valid UTF-8");
  }
  return out;
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Parses `; key=value` parameters (value a token or a quoted string) after a header's first item.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseParams(std::string_view v) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ';' || v[i] == ' ' || v[i] == '\t')) ++i;
    if (i >= v.size()) break;
    size_t eq = v.find('=', i);
    if (eq == std::string_view::npos) return InvalidArgument("malformed header parameter");
    std::string key(Trim(v.substr(i, eq - i)));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    std::string value;
    if (i < v.size() && v[i] == '"') {
      ++i;
      bool closed = false;
      while (i < v.size()) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          value += v[i + 1];
          i += 2;
        } else if (v[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value += v[i++];
        }
      }
      if (!closed) return InvalidArgument("unterminated quoted header parameter");
    } else {
      size_t end = v.find(';', i);
      value = std::string(Trim(v.substr(i, end == std::string_view::npos ? end : end - i)));
      i = end == std::string_view::npos ? v.size() : end;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace

std::optional<std::string_view> FormFields::Get(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

size_t FormFields::Count(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; }));
}

StatusOr<FormFields> ParseUrlEncodedForm(std::string_view body) {
  FormFields form;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    std::string_view pair =
        body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      PORTICO_ASSIGN_OR_RETURN(std::string k, DecodeComponent(pair.substr(0, eq)));
      std::string v;
      if (eq != std::string_view::npos) {
        PORTICO_ASSIGN_OR_RETURN(v, DecodeComponent(pair.substr(eq + 1)));
      }
      form.fields.emplace_back(std::move(k), std::move(v));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return form;
}

StatusOr<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (semi == std::string_view::npos)
    return InvalidArgument("multipart Content-Type has no boundary");
  PORTICO_ASSIGN_OR_RETURN(auto params, ParseParams(content_type.substr(semi + 1)));
  for (const auto& [k, v] : params) {
    if (k != "boundary") continue;
    if (v.empty() || v.size() > 70)
      return InvalidArgument("multipart boundary must be 1 to 70 characters");
    for (char c : v) {
      if (!std::isalnum(static_cast<unsigned char>(c)) &&
          std::strchr("'()+_,-./:=? ", c) == nullptr) {
        return InvalidArgument("multipart boundary has an invalid character");
      }
    }
    return v;
  }
  return InvalidArgument("multipart Content-Type has no boundary");
}

MultipartReader::MultipartReader(BodyReader& body, const std::string& boundary,
                                 MultipartLimits limits)
    : body_(body), delimiter_("\r\n--" + boundary), limits_(limits) {
  buffer_ = "\r\n";  // so the first delimiter, at the very start of the body, matches too
}

Status MultipartReader::Fill() {
  if (eof_) return Status::Ok();
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buffer_.size();
  buffer_.resize(old + 64 * 1024);
  auto n = body_.Read(std::span<char>(buffer_.data() + old, 64 * 1024));
  if (!n.ok()) {
    buffer_.resize(old);
    return n.status();
  }
  buffer_.resize(old + *n);
  if (*n == 0) eof_ = true;
  return Status::Ok();
}

Status MultipartReader::SkipPreamble() {
  for (;;) {
    size_t at = buffer_.find(delimiter_, pos_);
    if (at != std::string::npos) {
      pos_ = at + delimiter_.size();
      return Status::Ok();
    }
    if (eof_) return InvalidArgument("multipart body has no boundary delimiter");
    if (buffer_.size() - pos_ > delimiter_.size()) pos_ = buffer_.size() - delimiter_.size();
    if (pos_ > 1024 * 1024) return InvalidArgument("multipart preamble is too long");
    PORTICO_RETURN_IF_ERROR(Fill());
  }
}

StatusOr<std::optional<MultipartPart>> MultipartReader::NextPart() {
  if (state_ == State::kDone) return std::optional<MultipartPart>();
  if (state_ == State::kPreamble) {
    PORTICO_RETURN_IF_ERROR(SkipPreamble());
  } else if (state_ == State::kData) {
    char sink[16 * 1024];
    for (;;) {
      PORTICO_ASSIGN_OR_RETURN(size_t n, Read(sink));
      if (n == 0) break;
    }
  }
  // After a delimiter: "--" closes the body, CRLF starts a part's headers.
  while (buffer_.size() - pos_ < 2 && !eof_) PORTICO_RETURN_IF_ERROR(Fill());
  if (buffer_.size() - pos_ < 2) return InvalidArgument("multipart body ended early");
  if (buffer_.compare(pos_, 2, "--") == 0) {
    state_ = State::kDone;
    return std::optional<MultipartPart>();
  }
  // Transport padding (spaces, tabs) may precede the CRLF.
  while (true) {
    while (pos_ < buffer_.size() && (buffer_[pos_] == ' ' || buffer_[pos_] == '\t')) ++pos_;
    if (buffer_.size() - pos_ >= 2 || eof_) break;
    PORTICO_RETURN_IF_ERROR(Fill());
  }
  if (buffer_.size() - pos_ < 2 || buffer_.compare(pos_, 2, "\r\n") != 0) {
    return InvalidArgument("malformed multipart delimiter line");
  }
  pos_ += 2;
  if (++parts_ > limits_.max_parts) {
    return InvalidArgument("multipart body has more than " + std::to_string(limits_.max_parts) +
                           " parts");
  }
  size_t end;
  for (;;) {
    end = buffer_.find("\r\n\r\n", pos_);
    if (end != std::string::npos) break;
    if (buffer_.size() - pos_ > limits_.max_part_header_bytes)
      return InvalidArgument("multipart part headers are too long");
    if (eof_) return InvalidArgument("multipart body ended inside part headers");
    PORTICO_RETURN_IF_ERROR(Fill());
  }
  if (end - pos_ > limits_.max_part_header_bytes)
    return InvalidArgument("multipart part headers are too long");
  std::string_view headers(buffer_.data() + pos_, end - pos_ + 2);
  MultipartPart part;
  bool has_disposition = false;
  size_t line_start = 0;
  while (line_start < headers.size()) {
    size_t line_end = headers.find("\r\n", line_start);
    std::string_view line = headers.substr(line_start, line_end - line_start);
    line_start = line_end + 2;
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return InvalidArgument("malformed multipart part header");
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Disposition")) {
      if (has_disposition)
        return InvalidArgument("multipart part has two Content-Disposition headers");
      has_disposition = true;
      size_t semi = value.find(';');
      if (!EqualsIgnoreCase(Trim(value.substr(0, semi)), "form-data")) {
        return InvalidArgument("multipart part is not form-data");
      }
      if (semi == std::string_view::npos) return InvalidArgument("multipart part has no name");
      PORTICO_ASSIGN_OR_RETURN(auto params, ParseParams(value.substr(semi + 1)));
      bool named = false;
      for (auto& [k, v] : params) {
        if (k == "name") {
          part.name = std::move(v);
          named = true;
        } else if (k == "filename") {
          part.filename = std::move(v);
        }
      }
      if (!named) return InvalidArgument("multipart part has no name");
    } else if (EqualsIgnoreCase(name, "Content-Type")) {
      part.content_type = std::string(value);
    }
  }
  if (!has_disposition) return InvalidArgument("multipart part has no Content-Disposition");
  pos_ = end + 4;
  state_ = State::kData;
  return std::optional<MultipartPart>(std::move(part));
}

StatusOr<size_t> MultipartReader::Read(std::span<char> buf) {
  if (state_ != State::kData || buf.empty()) return size_t{0};
  for (;;) {
    size_t at = buffer_.find(delimiter_, pos_);
    size_t available;
    if (at != std::string::npos) {
      available = at - pos_;
      if (available == 0) {
        pos_ = at + delimiter_.size();
        state_ = State::kHeaders;
        return size_t{0};
      }
    } else {
      // Keep back what could be the start of a delimiter split across reads.
      size_t held = delimiter_.size() - 1;
      available = buffer_.size() - pos_ > held ? buffer_.size() - pos_ - held : 0;
      if (available == 0) {
        if (eof_) return InvalidArgument("multipart body ended before its closing boundary");
        PORTICO_RETURN_IF_ERROR(Fill());
        continue;
      }
    }
    size_t n = std::min(available, buf.size());
    std::memcpy(buf.data(), buffer_.data() + pos_, n);
    pos_ += n;
    if (pos_ > 256 * 1024) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    return n;
  }
}

StatusOr<FormFields> ReadForm(Request& request, const FormLimits& limits) {
  std::string media = request.MediaType();
  if (request.headers.Count("Content-Type") > 1)
    return InvalidArgument("request has more than one Content-Type");
  if (media == "application/x-www-form-urlencoded") {
    PORTICO_ASSIGN_OR_RETURN(std::string body, request.body->ReadAll(limits.max_body_bytes));
    return ParseUrlEncodedForm(body);
  }
  if (media == "multipart/form-data") {
    PORTICO_ASSIGN_OR_RETURN(std::string boundary,
                             MultipartBoundary(*request.headers.Get("Content-Type")));
    MultipartReader reader(*request.body, boundary);
    FormFields form;
    size_t total = 0;
    for (;;) {
      PORTICO_ASSIGN_OR_RETURN(auto part, reader.NextPart());
      if (!part) break;
      std::string value;
      char buf[16 * 1024];
      for (;;) {
        PORTICO_ASSIGN_OR_RETURN(size_t n, reader.Read(buf));
        if (n == 0) break;
        if (value.size() + n > limits.max_field_bytes) {
          return InvalidArgument("form field '" + part->name.substr(0, 64) + "' exceeds " +
                                 std::to_string(limits.max_field_bytes) + " bytes");
        }
        value.append(buf, n);
      }
      total += value.size();
      if (total > limits.max_body_bytes) return Status(Code::kPayloadTooLarge, "form is too large");
      if (!ValidUtf8(part->name) || !ValidUtf8(value))
        return InvalidArgument("form field is not valid UTF-8");
      form.fields.emplace_back(std::move(part->name), std::move(value));
    }
    return form;
  }
  return Status(Code::kUnsupportedMedia,
                "expected a body of application/x-www-form-urlencoded or multipart/form-data");
}

}  // namespace portico::http
