#include "ims/ims_service.h"

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "core/crypto/secret_box.h"
#include "core/folder_lock.h"
#include "core/http/server.h"
#include "core/http/standard_routes.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/system.h"
#include "ims/api/ims_api.h"
#include "ims/service/jti_ledger.h"
#include "ims/service/key_ring.h"
#include "ims/store/ims_store.h"
#include "store/sqlite_database.h"

namespace portico::ims {

struct ImsService::Parts {
  FolderLock folder_lock;
  ImsSettings settings;
  std::unique_ptr<store::SqlDatabase> db;
  std::unique_ptr<ImsStore> store;
  std::optional<crypto::SecretBox> box;
  std::unique_ptr<KeyRing> keys;
  std::unique_ptr<JtiLedger> jtis;
  std::unique_ptr<TokenService> tokens;
  std::unique_ptr<ConsoleService> console;
  std::unique_ptr<AdminService> admin;
  Metrics metrics;
  std::unique_ptr<http::Server> server;
  std::thread pruner;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
};

ImsService::ImsService() : parts_(std::make_unique<Parts>()) {}
ImsService::~ImsService() { Stop(); }

StatusOr<std::unique_ptr<ImsService>> ImsService::Start(const ImsOptions& o) {
  std::unique_ptr<ImsService> svc(new ImsService());
  Parts& p = *svc->parts_;
  const Clock& clock = o.clock ? *o.clock : SystemClock();
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec)
    return InvalidArgument("cannot create data folder " + o.data_dir.string() + ": " +
                           ec.message());
  ::chmod(o.data_dir.c_str(), 0700);
  PORTICO_ASSIGN_OR_RETURN(p.folder_lock, FolderLock::Acquire(o.data_dir, "ims"));

  // Bind first: the public URL (token issuer, assertion audience) depends on the port.
  http::Router router;
  http::ServerOptions so;
  so.service = "ims";
  so.host = o.host;
  so.port = o.port;
  so.io_threads = o.io_threads > 0 ? o.io_threads : UsableCores();
  so.handler_threads = o.handler_threads;
  so.access_log = o.access_log;
  p.settings.public_url = o.public_url;
  p.settings.service_token_seconds = o.service_token_seconds;

  PORTICO_ASSIGN_OR_RETURN(p.db, store::OpenSqlite({.path = o.data_dir / "ims.db"}));
  PORTICO_ASSIGN_OR_RETURN(p.store, ImsStore::Open(*p.db));
  PORTICO_ASSIGN_OR_RETURN(auto box, crypto::SecretBox::LoadOrCreate(o.data_dir / "master.key"));
  p.box.emplace(std::move(box));
  PORTICO_ASSIGN_OR_RETURN(
      p.keys, KeyRing::Load(*p.store, *p.box, clock, p.settings.service_token_seconds));

  // The server needs the router at construction, the public URL needs the bound port: the rules
  // hold a reference to the one settings object, completed after Listen and before Start.
  auto* settings = &p.settings;
  PORTICO_ASSIGN_OR_RETURN(p.jtis, JtiLedger::Open(*p.store, clock.NowSeconds()));
  p.tokens = std::make_unique<TokenService>(*p.store, *p.keys, *p.jtis, clock, p.settings);
  p.console = std::make_unique<ConsoleService>(*p.store, clock, p.settings);
  p.admin = std::make_unique<AdminService>(*p.store, *p.tokens, clock);
  AddImsRoutes(router, {p.tokens.get(), p.console.get(), p.admin.get(), p.keys.get(), settings});
  store::SqlDatabase* db = p.db.get();
  http::AddStandardRoutes(
      router, &p.metrics, [db] { return db->Execute("SELECT 1").status(); },
      "Portico identity service");
  p.server = std::make_unique<http::Server>(so, std::move(router), &p.metrics);
  PORTICO_RETURN_IF_ERROR(p.server->Listen());
  // Nothing is served between Listen and Start, so the rules see the final URL from the start.
  if (p.settings.public_url.empty()) {
    p.settings.public_url = "http://" + o.host + ":" + std::to_string(p.server->port());
  }
  while (!p.settings.public_url.empty() && p.settings.public_url.back() == '/')
    p.settings.public_url.pop_back();
  PORTICO_RETURN_IF_ERROR(p.server->Start());

  // Forget used assertion ids once they have expired.
  p.pruner = std::thread([&p] {
    std::unique_lock lock(p.mu);
    while (!p.stopping) {
      p.cv.wait_for(lock, std::chrono::seconds(60));
      if (p.stopping) break;
      lock.unlock();
      Status st = p.tokens->Prune();
      if (!st.ok()) log::Warn("jti_prune_failed", {{"reason", st.message()}});
      lock.lock();
    }
  });
  log::Info("ims_started", {{"url", p.settings.public_url}, {"data", o.data_dir.string()}});
  return svc;
}

const std::string& ImsService::url() const { return parts_->settings.public_url; }
uint16_t ImsService::port() const { return parts_->server->port(); }
AdminService& ImsService::admin() { return *parts_->admin; }
ConsoleService& ImsService::console() { return *parts_->console; }
TokenService& ImsService::tokens() { return *parts_->tokens; }

void ImsService::Stop() {
  Parts& p = *parts_;
  {
    std::lock_guard lock(p.mu);
    if (p.stopping) return;
    p.stopping = true;
  }
  p.cv.notify_all();
  if (p.server) p.server->Stop();
  if (p.pruner.joinable()) p.pruner.join();
}

}  // namespace portico::ims
