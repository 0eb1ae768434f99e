#include <utility>  // before asio's awaitable (g++ 12)

#include "core/http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::experimental::as_tuple(use_awaitable);
constexpr size_t kChunk = 256 * 1024;
constexpr size_t kDrainLimit = 64 * 1024;

std::string MakeRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

// Runs `f` on the pool and resumes the calling coroutine on its own executor with the result.
template <typename F>
awaitable<std::invoke_result_t<F>> RunOn(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  auto result = co_await asio::co_spawn(
      pool.get_executor(),
      [f = std::move(f)]() mutable -> awaitable<std::optional<R>> {
        co_return std::optional<R>(f());
      },
      use_awaitable);
  co_return std::move(*result);
}

// A connection's work runs on its socket's executor: a strand with several I/O threads, the one
// I/O thread otherwise (see Accept), never two threads at once.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {
    buffer.reserve(64 * 1024);
    // Non-blocking at the user level too: WriteAll tries the socket first and falls back to the
    // asynchronous (timed) write only when it would block. Async operations are unaffected.
    beast::error_code ignored;
    stream.socket().non_blocking(true, ignored);
  }
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string head;         // the response head being written, reused from request to request
  bool in_request = false;  // touched only on the connection's executor
};

// Writes `buffers` whole: first straight to the socket (a response that fits the socket's send
// buffer, nearly all of them, goes out in one sendmsg with no timer, operation or handler hop),
// then the rest, if any, asynchronously under the write timeout.
awaitable<bool> WriteAll(Connection& c, std::array<asio::const_buffer, 2> buffers,
                         std::chrono::milliseconds timeout) {
  while (asio::buffer_size(buffers) > 0) {
    beast::error_code ec;
    size_t sent = c.stream.socket().write_some(buffers, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) co_return false;
    for (auto& b : buffers) {  // drop what went out from the front of the pair
      const size_t k = std::min(sent, b.size());
      b += k;
      sent -= k;
    }
  }
  if (asio::buffer_size(buffers) == 0) co_return true;
  c.stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(c.stream, buffers, kAsTuple);
  co_return !ec;
}

// The status line and header of an in-memory response, written by hand into `out`: Beast's
// serializer walks a chain of buffer views per field and builds a message (a node per field)
// for a head of a few hundred bytes. The server owns framing and connection fields; a handler's
// own are dropped. CR, LF and NUL in a handler's field would split the response: they become
// spaces.
void AppendHeadField(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out += name;
  out += ": ";
  out += value;
  for (size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') out[i] = ' ';
  }
  out += "\r\n";
}

bool BodyForbidden(int status) { return status / 100 == 1 || status == 204 || status == 304; }

void BuildHead(std::string& out, const Response& res, size_t body_size, bool keep_alive,
               const std::string& request_id) {
  out.clear();
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [n, v] : res.headers.fields()) {
    if (EqualsIgnoreCase(n, "Content-Length") || EqualsIgnoreCase(n, "Transfer-Encoding") ||
        EqualsIgnoreCase(n, "Connection") || EqualsIgnoreCase(n, "Server") ||
        EqualsIgnoreCase(n, "X-Request-Id")) {
      continue;
    }
    AppendHeadField(out, n, v);
  }
  out += "Server: portico\r\n";
  if (!request_id.empty()) AppendHeadField(out, "X-Request-Id", request_id);
  if (!BodyForbidden(res.status)) {
    out += "Content-Length: ";
    out += std::to_string(body_size);
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
}

// The request body type: the parser delivers body bytes into a span the reader sets before each
// read (like beast's buffer_body). Bytes handed to the parser from the connection's buffer are
// copied into the span; bytes a direct socket read already put in place (ReadBodyFull) are only
// counted, so the parser still tracks the body's length, its end and the limit.
struct SpanBody {
  struct value_type {
    char* data = nullptr;
    size_t size = 0;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      if (!body_.data) {
        ec = bhttp::error::need_buffer;
        return 0;
      }
      size_t used = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        asio::const_buffer b = *it;
        const size_t n = std::min(b.size(), body_.size);
        if (n > 0 && b.data() != body_.data) std::memcpy(body_.data, b.data(), n);
        body_.data += n;
        body_.size -= n;
        used += n;
        if (n < b.size()) {
          ec = bhttp::error::need_buffer;
          return used;
        }
      }
      ec = {};
      return used;
    }

    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using Parser = bhttp::request_parser<SpanBody>;

// Reads body bytes into `dst` on the connection's executor. Returns bytes read (0 at the end).
awaitable<std::pair<beast::error_code, size_t>> ReadBodySome(Connection& c, Parser& parser,
                                                             char* dst, size_t size,
                                                             std::chrono::milliseconds timeout) {
  for (;;) {
    if (parser.is_done()) co_return std::pair{beast::error_code{}, size_t{0}};
    auto& body = parser.get().body();
    body.data = dst;
    body.size = size;
    c.stream.expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read_some(c.stream, c.buffer, parser, kAsTuple);
    size_t got = size - body.size;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return std::pair{ec, got};
    if (got > 0) co_return std::pair{ec, got};
  }
}

// The body timeout of a streaming request: one timer per request instead of one arming per socket
// read (each arming is a timerfd_settime). Between Begin and End a read is waiting for the
// client; when the timer fires it compares the time since the last progress (the start of the
// wait or the last bytes received) with the timeout, and either re-arms for the rest or closes the
// socket, which fails the pending read (TimedOut() then says why). A stall of `timeout` times out,
// as with a deadline per read; a slow but steady client never does. Used on the connection's
// executor only; Stop() before the connection goes.
class BodyWatchdog : public std::enable_shared_from_this<BodyWatchdog> {
 public:
  using Clock = std::chrono::steady_clock;

  BodyWatchdog(tcp::socket& socket, std::chrono::milliseconds timeout)
      : socket_(socket), timer_(socket.get_executor()), timeout_(timeout) {}

  void Begin() {
    waiting_ = true;
    since_ = Clock::now();
    if (!armed_ && !stopped_) {
      armed_ = true;
      Arm(since_ + timeout_);
    }
  }
  void Progress() { since_ = Clock::now(); }
  void End() { waiting_ = false; }
  bool TimedOut() const { return timed_out_; }

  void Stop() {
    stopped_ = true;
    if (!armed_) return;
    try {
      timer_.cancel();
    } catch (...) {
    }
  }

 private:
  void Arm(Clock::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) { self->OnTimer(ec); });
  }

  void OnTimer(beast::error_code ec) {
    if (ec || stopped_) {
      armed_ = false;
      return;
    }
    const auto now = Clock::now();
    if (waiting_ && now - since_ >= timeout_) {
      armed_ = false;
      timed_out_ = true;
      beast::error_code ignored;
      socket_.close(ignored);  // as beast's own timeout does: the connection is done
      return;
    }
    Arm((waiting_ ? since_ : now) + timeout_);
  }

  tcp::socket& socket_;
  asio::steady_timer timer_;
  const std::chrono::milliseconds timeout_;
  Clock::time_point since_{};
  bool waiting_ = false;
  bool armed_ = false;
  bool stopped_ = false;
  bool timed_out_ = false;
};

// Reads body bytes into `dst` until it is full or the body ends, on the connection's executor: one
// hop for the whole span instead of one per socket read. The stall timeout is `dog`'s. A body of
// known length is read from the socket straight into the span (bytes already in the connection's
// buffer first): no copy through the 64 KB read buffer, one read of whatever the socket holds up
// to the rest of the span, and never a byte beyond the body. A chunked body goes through the
// connection's buffer and the parser. Returns bytes read (fewer than `size` only at the end of
// the body or with an error).
awaitable<std::pair<beast::error_code, size_t>> ReadBodyFull(Connection& c, Parser& parser,
                                                             char* dst, size_t size,
                                                             BodyWatchdog& dog) {
  auto& body = parser.get().body();
  size_t got = 0;
  auto fail = [&](beast::error_code ec) {
    dog.End();
    if (dog.TimedOut()) ec = beast::error::timeout;
    return std::pair{ec, got};
  };
  // Body bytes that arrived with the header (or with an earlier chunked read).
  while (got < size && !parser.is_done() && c.buffer.size() > 0 &&
         parser.content_length_remaining()) {
    body.data = dst + got;
    body.size = size - got;
    beast::error_code ec;
    const size_t used = parser.put(c.buffer.data(), ec);
    c.buffer.consume(used);
    got = size - body.size;
    if (ec == bhttp::error::need_buffer) break;  // the span is full
    if (ec) co_return std::pair{ec, got};
    if (used == 0) break;
  }
  if (got == size || parser.is_done()) co_return std::pair{beast::error_code{}, got};
  dog.Begin();
  while (got < size && !parser.is_done()) {
    if (const auto left = parser.content_length_remaining()) {
      const size_t want = static_cast<size_t>(std::min<std::uint64_t>(size - got, *left));
      auto [ec, n] =
          co_await c.stream.socket().async_read_some(asio::buffer(dst + got, want), kAsTuple);
      if (ec) co_return fail(ec);
      dog.Progress();
      body.data = dst + got;
      body.size = want;
      beast::error_code pec;
      parser.put(asio::const_buffer(dst + got, n), pec);  // in place: counted, not copied
      if (pec && pec != bhttp::error::need_buffer) co_return fail(pec);
      got += n;
    } else {
      body.data = dst + got;
      body.size = size - got;
      auto [ec, n] = co_await bhttp::async_read_some(c.stream.socket(), c.buffer, parser, kAsTuple);
      got = size - body.size;
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return fail(ec);
      dog.Progress();
    }
  }
  dog.End();
  co_return std::pair{beast::error_code{}, got};
}

Status BodyError(const beast::error_code& ec, uint64_t limit) {
  if (ec == bhttp::error::body_limit) {
    return Status(Code::kPayloadTooLarge,
                  "request body exceeds " + std::to_string(limit) + " bytes");
  }
  if (ec == beast::error::timeout) return Status(Code::kTimeout, "request body timed out");
  return InvalidArgument("request body could not be read: connection broken or malformed");
}

// The live body reader handed to streaming handlers: each Read hops once to the connection's
// executor and fills the caller's span there (or reaches the end of the body), so a handler reading
// 1 MiB at a time costs two thread wake-ups per MiB, not per socket read. Back-pressure stays:
// nothing is read from the socket beyond what the handler asked for (a chunked body: and the
// 64 KB read buffer).
class LiveBodyReader final : public BodyReader {
 public:
  LiveBodyReader(Connection& c, Parser& parser, bool expect_continue, uint64_t limit,
                 std::chrono::milliseconds timeout, const std::atomic<bool>& io_stopped)
      : io_stopped_(io_stopped),
        c_(c),
        parser_(parser),
        expect_continue_(expect_continue),
        limit_(limit),
        timeout_(timeout),
        dog_(std::make_shared<BodyWatchdog>(c.stream.socket(), timeout)) {}

  // Runs on the connection's executor (the server's request loop owns the reader).
  ~LiveBodyReader() override { dog_->Stop(); }

  StatusOr<size_t> Read(std::span<char> buf) override {
    if (failed_) return Status(failed_status_);
    if (buf.empty()) return size_t{0};
    auto fut = asio::co_spawn(
        c_.stream.get_executor(),
        [this, buf]() -> awaitable<std::pair<beast::error_code, size_t>> {
          if (expect_continue_ && !continue_sent_) {
            continue_sent_ = true;
            bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
            c_.stream.expires_after(timeout_);
            auto [ec, n] = co_await bhttp::async_write(c_.stream, cont, kAsTuple);
            if (ec) co_return std::pair{ec, size_t{0}};
          }
          co_return co_await ReadBodyFull(c_, parser_, buf.data(), buf.size(), *dog_);
        },
        asio::use_future);
    // If the I/O threads are gone (a forced stop), the read can never complete: give up.
    while (fut.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
      if (io_stopped_) {
        failed_ = true;
        failed_status_ = Unavailable("the server is stopping");
        return Status(failed_status_);
      }
    }
    auto [ec, n] = fut.get();
    if (ec) {
      failed_ = true;
      failed_status_ = BodyError(ec, limit_);
      return Status(failed_status_);
    }
    return n;
  }

  bool started() const { return continue_sent_ || !expect_continue_; }

 private:
  const std::atomic<bool>& io_stopped_;
  Connection& c_;
  Parser& parser_;
  bool expect_continue_;
  bool continue_sent_ = false;
  uint64_t limit_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<BodyWatchdog> dog_;
  bool failed_ = false;
  Status failed_status_;
};

// A body source over a string (used when a handler's Response holds its body in memory).
struct AccessRecord {
  std::string method, path, route, request_id, remote;
  int status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  std::chrono::steady_clock::time_point start;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(ServerOptions o, Router r, Metrics* m)
      : options(std::move(o)),
        router(std::move(r)),
        metrics(m),
        ioc(options.io_threads),
        pool(static_cast<size_t>(options.handler_threads)) {}

  ServerOptions options;
  Router router;
  Metrics* metrics;
  asio::io_context ioc;
  asio::thread_pool pool;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::atomic<bool> io_stopped{false};
  uint16_t bound_port = 0;

  std::mutex mu;
  std::condition_variable cv;
  std::set<std::shared_ptr<Connection>> connections;

  awaitable<void> Accept();
  awaitable<void> Serve(std::shared_ptr<Connection> c);
  awaitable<bool> WriteResponse(Connection& c, Response& res, bool head, bool keep_alive,
                                const std::string& request_id, AccessRecord& rec);
  void Record(const AccessRecord& rec);
};

awaitable<void> Server::Impl::Accept() {
  for (;;) {
    // A connection's work must never run on two threads at once: with several I/O threads its
    // socket gets a strand; with one, the I/O thread alone already serializes it, and the strand
    // would only add a queue and a type-erased hop to every completion.
    asio::any_io_executor executor = options.io_threads > 1
                                         ? asio::any_io_executor(asio::make_strand(ioc))
                                         : asio::any_io_executor(ioc.get_executor());
    auto [ec, socket] = co_await acceptor->async_accept(executor, kAsTuple);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) co_return;
      log::Warn("accept_failed", {{"reason", ec.message()}});
      continue;
    }
    auto c = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      if (connections.size() >= options.max_connections) {
        beast::error_code ignored;
        c->stream.socket().close(ignored);
        continue;
      }
      connections.insert(c);
    }
    if (metrics) metrics->Increment("http_connections_total", {{"service", options.service}});
    auto self = shared_from_this();
    auto exec = c->stream.get_executor();
    asio::co_spawn(exec, Serve(c), [self, c](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::Error("connection_failed", {{"reason", ex.what()}});
        }
      }
      beast::error_code ignored;
      c->stream.socket().close(ignored);
      std::lock_guard lock(self->mu);
      self->connections.erase(c);
      self->cv.notify_all();
    });
  }
}

void Server::Impl::Record(const AccessRecord& rec) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - rec.start).count();
  if (metrics) {
    metrics->Increment("http_requests_total", {{"service", options.service},
                                               {"route", rec.route},
                                               {"method", rec.method},
                                               {"status", std::to_string(rec.status)}});
    metrics->Observe("http_request_duration_seconds",
                     {{"service", options.service}, {"route", rec.route}}, secs);
  }
  if (options.access_log) {
    log::ContextScope scope(options.service, rec.request_id);
    std::string f;
    f.reserve(256);
    f += "\"method\":";
    log::AppendJsonString(f, rec.method);
    f += ",\"path\":";
    log::AppendJsonString(f, rec.path);
    f += ",\"route\":";
    log::AppendJsonString(f, rec.route);
    f += ",\"status\":" + std::to_string(rec.status);
    f += ",\"bytes_in\":" + std::to_string(rec.bytes_in);
    f += ",\"bytes_out\":" + std::to_string(rec.bytes_out);
    f += ",\"remote\":";
    log::AppendJsonString(f, rec.remote);
    char ms[32];
    std::snprintf(ms, sizeof ms, ",\"duration_ms\":%.3f", secs * 1000);
    f += ms;
    log::WritePrebuilt(log::Level::kInfo, "http_request", f);
  }
}

awaitable<bool> Server::Impl::WriteResponse(Connection& c, Response& res, bool head,
                                            bool keep_alive, const std::string& request_id,
                                            AccessRecord& rec) {
  rec.status = res.status;
  auto fill = [&](auto& msg) {
    for (const auto& [n, v] : res.headers.fields()) msg.insert(n, v);
    msg.set(bhttp::field::server, "portico");
    if (!request_id.empty()) msg.set("X-Request-Id", request_id);
    msg.keep_alive(keep_alive);
  };
  if (!res.stream) {
    if (BodyForbidden(res.status)) res.body.clear();
    BuildHead(c.head, res, res.body.size(), keep_alive, request_id);
    if (!head) rec.bytes_out = res.body.size();
    co_return co_await WriteAll(
        c, {asio::buffer(c.head), head ? asio::const_buffer() : asio::buffer(res.body)},
        options.write_timeout);
  }
  c.stream.expires_after(options.write_timeout);
  bhttp::response<bhttp::buffer_body> msg{static_cast<bhttp::status>(res.status), 11};
  fill(msg);
  if (res.stream_length) {
    msg.content_length(*res.stream_length);
  } else {
    msg.chunked(true);
  }
  msg.body().data = nullptr;
  msg.body().more = true;
  bhttp::response_serializer<bhttp::buffer_body> sr{msg};
  {
    auto [ec, n] = co_await bhttp::async_write_header(c.stream, sr, kAsTuple);
    if (ec) co_return false;
  }
  if (head) co_return true;
  std::vector<char> buf(kChunk);
  BodySource* source = res.stream.get();
  uint64_t sent = 0;
  for (;;) {
    struct ReadResult {
      Status status;
      size_t n = 0;
    };
    auto rr = co_await RunOn(pool, [source, &buf]() {
      auto r = source->Read(std::span<char>(buf.data(), buf.size()));
      return r.ok() ? ReadResult{Status::Ok(), *r} : ReadResult{r.status(), 0};
    });
    if (!rr.status.ok()) {
      log::Error("response_stream_failed",
                 {{"reason", rr.status.message()}, {"request_id", request_id}});
      co_return false;  // the status line is gone: closing is the only signal left
    }
    if (rr.n == 0) {
      if (res.stream_length && sent != *res.stream_length) co_return false;
      msg.body().data = nullptr;
      msg.body().size = 0;
      msg.body().more = false;
      c.stream.expires_after(options.write_timeout);
      auto [ec, n] = co_await bhttp::async_write(c.stream, sr, kAsTuple);
      rec.bytes_out = sent;
      co_return !ec || ec == bhttp::error::need_buffer;
    }
    if (res.stream_length && sent + rr.n > *res.stream_length) co_return false;
    sent += rr.n;
    msg.body().data = buf.data();
    msg.body().size = rr.n;
    msg.body().more = true;
    c.stream.expires_after(options.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(c.stream, sr, kAsTuple);
    if (ec && ec != bhttp::error::need_buffer) co_return false;
  }
}

awaitable<void> Server::Impl::Serve(std::shared_ptr<Connection> c) {
  std::string remote;
  {
    beast::error_code ec;
    auto ep = c->stream.socket().remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
  }
  bool answered = false;  // a request was answered on this connection
  for (;;) {
    if (stopping) co_return;
    // Wait for the first byte of the next request under the idle timeout...
    if (c->buffer.size() == 0) {
      // Right after an answer the client has not sent its next request yet: a read now would
      // find the socket empty (one wasted recv) and wait for the poller. Letting the other ready
      // work run first gives it the time to arrive; an idle server gets here at once anyway.
      if (answered) {
        co_await asio::post(c->stream.get_executor(), use_awaitable);
        if (stopping) co_return;
      }
      answered = true;
      c->stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await c->stream.async_read_some(c->buffer.prepare(16 * 1024), kAsTuple);
      if (ec) co_return;
      c->buffer.commit(n);
    }
    c->in_request = true;
    AccessRecord rec;
    rec.start = std::chrono::steady_clock::now();
    rec.remote = remote;
    rec.route = "unmatched";
    // ...then the whole header must arrive within the header timeout.
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    c->stream.expires_after(options.header_timeout);
    auto [hec, header_bytes] =
        co_await bhttp::async_read_header(c->stream, c->buffer, parser, kAsTuple);
    std::string request_id = MakeRequestId();
    rec.request_id = request_id;
    if (hec) {
      // A header deadline closes the socket itself: there is nobody left to answer.
      if (hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
          hec == asio::error::connection_reset || hec == asio::error::operation_aborted ||
          hec == beast::error::timeout) {
        co_return;
      }
      Status st = hec == bhttp::error::header_limit
                      ? Status(Code::kInvalidArgument, "request_header_too_large",
                               "request header exceeds " +
                                   std::to_string(options.max_header_bytes) + " bytes")
                      : InvalidArgument("malformed HTTP request");
      Response res = Response::Error(st);
      if (hec == bhttp::error::header_limit) res.status = 431;
      rec.method = "-";
      rec.path = "-";
      co_await WriteResponse(*c, res, false, false, request_id, rec);
      Record(rec);
      co_return;
    }
    auto& msg = parser.get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.remote_address = remote;
    rec.method = req.method;
    if (auto rid = msg.find("X-Request-Id"); rid != msg.end() && ValidRequestId(rid->value())) {
      request_id = std::string(rid->value());
      rec.request_id = request_id;
    }
    req.request_id = request_id;
    for (const auto& f : msg) req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    bool keep_alive = msg.keep_alive();

    auto fail = [&](Status st, int http_status = 0) -> awaitable<void> {
      Response res = Response::Error(st);
      if (http_status) res.status = http_status;
      co_await WriteResponse(*c, res, false, false, request_id, rec);
      Record(rec);
    };

    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) {
      rec.path = "-";
      co_await fail(InvalidArgument("malformed request target"));
      co_return;
    }
    req.path = parsed->path();
    rec.path = std::string(parsed->encoded_path());
    if (req.path.find('\0') != std::string::npos) {
      co_await fail(InvalidArgument("request path contains a NUL character"));
      co_return;
    }
    for (auto p : parsed->params()) req.query.emplace_back(p.key, p.has_value ? p.value : "");

    RouteMatch match = router.Match(req.method, req.path);
    if (!match.route) {
      if (!match.allowed_methods.empty()) {
        Response res = Response::Error(Status(
            Code::kMethodNotAllowed, "method " + req.method + " is not allowed on this resource"));
        std::string allow;
        for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
        res.headers.Set("Allow", allow);
        co_await WriteResponse(*c, res, false, false, request_id, rec);
        Record(rec);
        co_return;
      }
      co_await fail(NotFound("no such endpoint: " + req.method + " " + rec.path));
      co_return;
    }
    const Route& route = *match.route;
    rec.route = route.options.name;
    req.path_params = std::move(match.params);
    if (header_bytes > route.options.max_header_bytes) {
      co_await fail(Status(Code::kInvalidArgument, "request_header_too_large",
                           "request header exceeds " +
                               std::to_string(route.options.max_header_bytes) + " bytes"),
                    431);
      co_return;
    }
    if (auto cl = parser.content_length()) req.content_length = *cl;
    const uint64_t limit = route.options.max_body_bytes;
    if (req.content_length && *req.content_length > limit) {
      co_await fail(Status(Code::kPayloadTooLarge,
                           "request body of " + std::to_string(*req.content_length) +
                               " bytes exceeds the limit of " + std::to_string(limit)));
      co_return;
    }
    parser.body_limit(limit);
    bool expect_continue = false;
    if (auto e = msg.find(bhttp::field::expect); e != msg.end()) {
      if (!beast::iequals(e->value(), "100-continue")) {
        co_await fail(Status(Code::kInvalidArgument, "unsupported Expect header"), 417);
        co_return;
      }
      expect_continue = true;
    }
    const bool has_body = !parser.is_done();

    std::unique_ptr<BodyReader> reader;
    LiveBodyReader* live = nullptr;
    if (!has_body) {
      reader = std::make_unique<StringBodyReader>("");
    } else if (!route.options.stream_body) {
      if (expect_continue) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        c->stream.expires_after(options.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(c->stream, cont, kAsTuple);
        if (ec) co_return;
      }
      std::string body;
      for (;;) {
        size_t old = body.size();
        size_t want = 16 * 1024;
        if (req.content_length)
          want = std::max<size_t>(1, std::min<uint64_t>(*req.content_length - old, kChunk));
        body.resize(old + want);
        auto [ec, n] =
            co_await ReadBodySome(*c, parser, body.data() + old, want, options.body_timeout);
        body.resize(old + n);
        if (ec) {
          rec.bytes_in = body.size();
          co_await fail(BodyError(ec, limit));
          co_return;
        }
        if (n == 0) break;
      }
      rec.bytes_in = body.size();
      reader = std::make_unique<StringBodyReader>(std::move(body));
    } else {
      auto lr = std::make_unique<LiveBodyReader>(*c, parser, expect_continue, limit,
                                                 options.body_timeout, io_stopped);
      live = lr.get();
      reader = std::move(lr);
    }
    req.body = reader.get();

    const bool head = req.method == "HEAD";
    auto invoke = [&route, &req, this]() {
      log::ContextScope scope(options.service, req.request_id);
      try {
        return route.handler(req);
      } catch (const std::exception& e) {
        log::Error("handler_exception", {{"route", route.options.name}, {"reason", e.what()}});
      } catch (...) {
        log::Error("handler_exception", {{"route", route.options.name}});
      }
      return Response::Error(Internal("internal error"));
    };
    // Short CPU-bound handlers run here, saving the two thread switches of the pool.
    // (An if, not a conditional expression: g++ 12 mishandles co_await inside `?:`.)
    Response res;
    if (route.options.run_inline) {
      res = invoke();
    } else {
      res = co_await RunOn(pool, invoke);
    }

    // A body the handler left unread: drain a little, otherwise close the connection.
    if (!parser.is_done()) {
      if (live && !live->started()) {
        keep_alive = false;  // 100 Continue was never sent: the client will not send the body
      } else {
        std::vector<char> sink(16 * 1024);
        size_t drained = 0;
        while (!parser.is_done() && drained < kDrainLimit) {
          auto [ec, n] =
              co_await ReadBodySome(*c, parser, sink.data(), sink.size(), options.body_timeout);
          if (ec || n == 0) break;
          drained += n;
        }
        if (!parser.is_done()) keep_alive = false;
      }
    }
    if (stopping) keep_alive = false;
    co_await asio::post(c->stream.get_executor(), use_awaitable);
    bool ok = co_await WriteResponse(*c, res, head, keep_alive, request_id, rec);
    Record(rec);
    c->in_request = false;
    if (!ok || !keep_alive) {
      beast::error_code ignored;
      c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

Server::Server(ServerOptions options, Router router, Metrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(router), metrics)) {}

Server::~Server() { Stop(std::chrono::milliseconds(2000)); }

Status Server::Listen() {
  auto& im = *impl_;
  if (im.acceptor) return Status::Ok();
  beast::error_code ec;
  auto address = asio::ip::make_address(im.options.host, ec);
  if (ec) return InvalidArgument("invalid listen address '" + im.options.host + "'");
  tcp::endpoint ep{address, im.options.port};
  im.acceptor.emplace(im.ioc);
  im.acceptor->open(ep.protocol(), ec);
  if (!ec) im.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(ep, ec);
  if (!ec) im.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + im.options.host + ":" +
                       std::to_string(im.options.port) + ": " + ec.message());
  }
  im.bound_port = im.acceptor->local_endpoint().port();
  return Status::Ok();
}

Status Server::Start() {
  auto& im = *impl_;
  PORTICO_RETURN_IF_ERROR(Listen());
  if (im.metrics) {
    im.metrics->Describe("http_requests_total", "counter",
                         "HTTP requests by route, method and status");
    im.metrics->Describe("http_request_duration_seconds", "histogram", "HTTP request latency");
    im.metrics->Describe("http_connections_total", "counter", "Accepted TCP connections");
  }
  asio::co_spawn(im.ioc, im.Accept(), asio::detached);
  for (int i = 0; i < im.options.io_threads; ++i) {
    im.threads.emplace_back([&im] { im.ioc.run(); });
  }
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->bound_port; }

void Server::Stop(std::chrono::milliseconds grace) {
  auto& im = *impl_;
  if (im.stopped.exchange(true)) return;
  im.stopping = true;
  if (im.acceptor) {
    asio::post(im.ioc, [&im] {
      beast::error_code ignored;
      im.acceptor->close(ignored);
    });
  }
  auto close_idle = [&im](bool all) {
    std::lock_guard lock(im.mu);
    for (const auto& c : im.connections) {
      asio::post(c->stream.get_executor(), [c, all] {
        if (all || !c->in_request) {
          beast::error_code ignored;
          c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          c->stream.socket().close(ignored);
        }
      });
    }
  };
  close_idle(false);
  {
    std::unique_lock lock(im.mu);
    im.cv.wait_for(lock, grace, [&im] { return im.connections.empty(); });
  }
  close_idle(true);
  {
    std::unique_lock lock(im.mu);
    im.cv.wait_for(lock, std::chrono::milliseconds(2000), [&im] { return im.connections.empty(); });
  }
  im.io_stopped = true;
  im.ioc.stop();
  for (auto& t : im.threads) {
    if (t.joinable()) t.join();
  }
  im.pool.join();
  // The close posted above may not have run before the I/O threads stopped: a listening socket
  // left open would accept connections nobody answers.
  if (im.acceptor) {
    beast::error_code ignored;
    im.acceptor->close(ignored);
  }
}

}  // namespace portico::http
