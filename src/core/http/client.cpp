#include <utility>  // before asio's awaitable (g++ 12)

#include "core/http/client.h"

#include <deque>
#include <memory>
#include <mutex>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr size_t kBufferBytes = 256 * 1024;  // one piece of a streamed request or response body

struct Target {
  std::string host;
  std::string port;
  std::string path;  // origin-form target
  std::string key() const { return host + ":" + port; }
};

StatusOr<Target> ParseUrl(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return InvalidArgument("invalid URL");
  if (u->scheme() != "http") return InvalidArgument("only http:// URLs are supported");
  Target t;
  t.host = std::string(u->host());
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

struct Conn {
  asio::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

// Runs one asynchronous operation on the connection's private io_context to completion.
template <typename Start>
beast::error_code RunOp(Conn& c, std::chrono::milliseconds timeout, Start start) {
  beast::error_code result = asio::error::would_block;
  c.stream.expires_after(timeout);
  start([&](beast::error_code ec, std::size_t) { result = ec; });
  c.ioc.restart();
  c.ioc.run();
  return result;
}

Status NetworkError(const Target& t, const beast::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) {
    return Status(Code::kUnavailable, "timeout", std::string(what) + " " + t.key() + " timed out");
  }
  return Status(Code::kUnavailable, "unavailable",
                std::string(what) + " " + t.key() + " failed: " + ec.message());
}

}  // namespace

nlohmann::json ClientResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

struct HttpClient::Impl {
  ClientOptions options;
  std::mutex mu;
  std::deque<std::pair<std::string, std::unique_ptr<Conn>>> idle;

  std::unique_ptr<Conn> TakeIdle(const std::string& key) {
    std::lock_guard lock(mu);
    for (auto it = idle.begin(); it != idle.end(); ++it) {
      if (it->first == key) {
        auto c = std::move(it->second);
        idle.erase(it);
        return c;
      }
    }
    return nullptr;
  }

  void PutIdle(const std::string& key, std::unique_ptr<Conn> c) {
    std::lock_guard lock(mu);
    idle.emplace_back(key, std::move(c));
    while (idle.size() > options.max_idle_connections) idle.pop_front();
  }

  StatusOr<std::unique_ptr<Conn>> Connect(const Target& t) {
    auto c = std::make_unique<Conn>();
    tcp::resolver resolver(c->ioc);
    beast::error_code ec;
    auto results = resolver.resolve(t.host, t.port, ec);
    if (ec) return NetworkError(t, ec, "resolving");
    ec = RunOp(*c, options.connect_timeout, [&](auto handler) {
      c->stream.async_connect(
          results, [handler](beast::error_code e, const tcp::endpoint&) { handler(e, 0); });
    });
    if (ec) return NetworkError(t, ec, "connecting to");
    c->stream.socket().set_option(tcp::no_delay(true), ec);
    return c;
  }

  // One attempt on one connection. `reused` tells whether a failure before any response byte
  // may be retried.
  StatusOr<ClientResponse> Attempt(Conn& c, const Target& t, const ClientRequest& req,
                                   const std::function<Status(std::string_view)>* sink,
                                   bool* retryable, bool* keep) {
    *retryable = false;
    *keep = false;
    auto set_headers = [&](auto& msg) {
      msg.set(bhttp::field::host, t.host + ":" + t.port);
      msg.set(bhttp::field::user_agent, "portico");
      // The caller's fields replace ours; a name the caller repeats is sent repeated.
      for (const auto& [n, v] : req.headers.fields()) msg.erase(n);
      for (const auto& [n, v] : req.headers.fields()) msg.insert(n, v);
      if (!req.headers.Get("X-Request-Id") && !log::CurrentRequestId().empty()) {
        msg.set("X-Request-Id", log::CurrentRequestId());
      }
      msg.keep_alive(true);
    };
    beast::error_code ec;
    if (!req.body_source) {
      bhttp::request<bhttp::string_body> msg;
      msg.method_string(req.method);
      msg.target(t.path);
      msg.version(11);
      set_headers(msg);
      msg.body() = req.body;
      if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
          req.method == "PATCH") {
        msg.prepare_payload();
      }
      ec = RunOp(c, options.io_timeout, [&](auto h) { bhttp::async_write(c.stream, msg, h); });
      if (ec) {
        *retryable = true;
        return NetworkError(t, ec, "sending to");
      }
    } else {
      bhttp::request<bhttp::buffer_body> msg;
      msg.method_string(req.method);
      msg.target(t.path);
      msg.version(11);
      set_headers(msg);
      if (req.body_length) {
        msg.content_length(*req.body_length);
      } else {
        msg.chunked(true);
      }
      msg.body().data = nullptr;
      msg.body().more = true;
      bhttp::request_serializer<bhttp::buffer_body> sr{msg};
      ec =
          RunOp(c, options.io_timeout, [&](auto h) { bhttp::async_write_header(c.stream, sr, h); });
      if (ec) return NetworkError(t, ec, "sending to");
      // Not zeroed: every byte sent is one the source wrote.
      auto buf = std::make_unique_for_overwrite<char[]>(kBufferBytes);
      for (;;) {
        auto n = req.body_source->Read(std::span<char>(buf.get(), kBufferBytes));
        if (!n.ok()) return n.status();
        msg.body().data = *n ? buf.get() : nullptr;
        msg.body().size = *n;
        msg.body().more = *n != 0;
        ec = RunOp(c, options.io_timeout, [&](auto h) { bhttp::async_write(c.stream, sr, h); });
        if (ec && ec != bhttp::error::need_buffer) return NetworkError(t, ec, "sending to");
        if (*n == 0) break;
      }
    }
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(64 * 1024);
    ec = RunOp(c, options.io_timeout,
               [&](auto h) { bhttp::async_read_header(c.stream, c.buffer, parser, h); });
    if (ec) {
      *retryable = (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                    ec == asio::error::connection_reset || ec == asio::error::broken_pipe) &&
                   !req.body_source;
      return NetworkError(t, ec, "reading the response of");
    }
    ClientResponse out;
    out.status = parser.get().result_int();
    for (const auto& f : parser.get())
      out.headers.Add(std::string(f.name_string()), std::string(f.value()));
    auto buf = std::make_unique_for_overwrite<char[]>(kBufferBytes);
    uint64_t total = 0;
    while (!parser.is_done()) {
      parser.get().body().data = buf.get();
      parser.get().body().size = kBufferBytes;
      ec = RunOp(c, options.io_timeout,
                 [&](auto h) { bhttp::async_read_some(c.stream, c.buffer, parser, h); });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return NetworkError(t, ec, "reading the response of");
      size_t n = kBufferBytes - parser.get().body().size;
      total += n;
      if (sink) {
        if (n) PORTICO_RETURN_IF_ERROR((*sink)(std::string_view(buf.get(), n)));
      } else {
        if (total > options.max_response_bytes) {
          return Status(Code::kPayloadTooLarge, "response from " + t.key() + " is too large");
        }
        out.body.append(buf.get(), n);
      }
    }
    *keep = parser.get().keep_alive();
    return out;
  }

  StatusOr<ClientResponse> Send(const ClientRequest& req,
                                const std::function<Status(std::string_view)>* sink) {
    PORTICO_ASSIGN_OR_RETURN(Target t, ParseUrl(req.url));
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Conn> c = attempt == 0 ? TakeIdle(t.key()) : nullptr;
      bool reused = c != nullptr;
      if (!c) {
        PORTICO_ASSIGN_OR_RETURN(c, Connect(t));
      }
      bool retryable = false, keep = false;
      auto r = Attempt(*c, t, req, sink, &retryable, &keep);
      if (r.ok()) {
        if (keep) PutIdle(t.key(), std::move(c));
        return r;
      }
      if (!(reused && retryable)) return r;
    }
    return Unavailable("request to " + t.key() + " failed");
  }
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}
HttpClient::~HttpClient() = default;

StatusOr<ClientResponse> HttpClient::Send(const ClientRequest& request) {
  return impl_->Send(request, nullptr);
}

StatusOr<ClientResponse> HttpClient::Send(const ClientRequest& request,
                                          const std::function<Status(std::string_view)>& sink) {
  return impl_->Send(request, &sink);
}

Status StatusFromResponse(const ClientResponse& r) {
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  auto j = r.Json();
  Code code = CodeForHttpStatus(r.status);
  if (code == Code::kOk) code = Code::kInternal;
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    std::string desc = j.contains("error_description") && j["error_description"].is_string()
                           ? j["error_description"].get<std::string>()
                           : "";
    return Status(code, j["error"].get<std::string>(), desc);
  }
  return Status(code, "HTTP " + std::to_string(r.status));
}

std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += boost::urls::encode(k, boost::urls::unreserved_chars);
    out += '=';
    out += boost::urls::encode(v, boost::urls::unreserved_chars);
  }
  return out;
}

}  // namespace portico::http
