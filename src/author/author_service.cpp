#include "author/author_service.h"

#include <sys/stat.h>

#include <optional>

#include "author/api/admin_guard.h"
#include "author/api/author_api.h"
#include "author/publish/author_publish_source.h"
#include "author/publish/publish_api.h"
#include "author/store/author_store.h"
#include "core/crypto/secret_box.h"
#include "core/http/server.h"
#include "core/http/standard_routes.h"
#include "core/log.h"
#include "core/metrics.h"
#include "ims/client/token_verifier.h"
#include "store/fs_blob_store.h"
#include "store/sqlite_database.h"

namespace portico::author {

struct AuthorService::Parts {
  std::string url;
  std::string author_id;
  std::unique_ptr<store::SqlDatabase> db;
  std::unique_ptr<AuthorStore> store;
  std::unique_ptr<store::BlobStore> blobs;
  std::optional<crypto::SecretBox> box;
  std::unique_ptr<ims::TokenVerifier> verifier;
  std::unique_ptr<AdminGuard> guard;
  std::unique_ptr<AssetService> assets;
  std::unique_ptr<ImsIntegrationService> ims;
  std::unique_ptr<PortalGateway> gateway;
  std::unique_ptr<PortalIntegrationService> portal;
  Metrics metrics;
  std::unique_ptr<http::Server> server;
  bool stopped = false;
  // Last, so they stop and go first: the engine uses the store, blobs and tokens above.
  std::unique_ptr<publish::AuthorPublishSource> publish_source;
  std::unique_ptr<publish::PublishService> publisher;
};

AuthorService::AuthorService() : parts_(std::make_unique<Parts>()) {}
AuthorService::~AuthorService() { Stop(); }

StatusOr<std::unique_ptr<AuthorService>> AuthorService::Start(const AuthorOptions& o) {
  if (o.ims_url.empty()) {
    return InvalidArgument("the author needs the identity service's URL (--ims URL)");
  }
  if (o.org.empty()) return InvalidArgument("the author needs its org id (--org ORG)");
  std::unique_ptr<AuthorService> svc(new AuthorService());
  Parts& p = *svc->parts_;
  const Clock& clock = o.clock ? *o.clock : SystemClock();
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    return InvalidArgument("cannot create data folder " + o.data_dir.string() + ": " +
                           ec.message());
  }
  ::chmod(o.data_dir.c_str(), 0700);

  PORTICO_ASSIGN_OR_RETURN(p.db, store::OpenSqlite({.path = o.data_dir / "author.db"}));
  PORTICO_ASSIGN_OR_RETURN(p.store, AuthorStore::Open(*p.db));
  PORTICO_ASSIGN_OR_RETURN(p.author_id, p.store->AuthorId());
  PORTICO_ASSIGN_OR_RETURN(p.blobs, store::OpenFsBlobStore({.root = o.data_dir / "blobs"}));
  PORTICO_ASSIGN_OR_RETURN(auto box, crypto::SecretBox::LoadOrCreate(o.data_dir / "master.key"));
  p.box.emplace(std::move(box));

  std::string ims_url = o.ims_url;
  while (!ims_url.empty() && ims_url.back() == '/') ims_url.pop_back();
  p.verifier = std::make_unique<ims::TokenVerifier>(
      ims::TokenVerifierOptions{.issuer = ims_url, .clock = &clock});
  p.guard = std::make_unique<AdminGuard>(p.verifier.get(), o.org);
  p.assets = std::make_unique<AssetService>(*p.store, *p.blobs, clock);
  ImsIntegrationOptions io;
  io.clock = &clock;
  io.tokens.renew_margin = o.token_renew_margin;
  p.ims = std::make_unique<ImsIntegrationService>(*p.store, *p.box, io);
  p.gateway = MakeHttpPortalGateway();

  http::ServerOptions so;
  so.service = "author";
  so.host = o.host;
  so.port = o.port;
  so.handler_threads = o.handler_threads;
  so.access_log = o.access_log;
  http::Router router;
  AuthorApiDeps deps{p.guard.get(), p.assets.get(), p.ims.get(), nullptr, o.max_upload_bytes};
  AddAssetRoutes(router, deps);
  p.portal = std::make_unique<PortalIntegrationService>(
      *p.store, p.ims->tokens(), *p.gateway,
      PortalIntegrationOptions{.agent_count = o.agent_count, .author_url = "", .clock = &clock});
  deps.portal = p.portal.get();
  AddIntegrationRoutes(router, deps);
  p.publish_source = std::make_unique<publish::AuthorPublishSource>(*p.store);
  PORTICO_ASSIGN_OR_RETURN(
      p.publisher, publish::PublishService::Create(
                       *p.db, *p.publish_source, *p.publish_source, p.ims->tokens(), *p.blobs,
                       publish::HttpIngestChannelFactory(),
                       publish::PublishOptions{.upload_lanes = o.upload_lanes,
                                               .agent_workers = o.agent_workers,
                                               .lease = o.publish_lease,
                                               .queue = {.backoff_base = o.publish_backoff},
                                               .clock = &clock}));
  publish::AddPublishRoutes(router, {p.guard.get(), p.publisher.get()});
  store::SqlDatabase* db = p.db.get();
  http::AddStandardRoutes(
      router, &p.metrics, [db] { return db->Execute("SELECT 1").status(); },
      "Portico author service");
  p.server = std::make_unique<http::Server>(so, std::move(router), &p.metrics);
  PORTICO_RETURN_IF_ERROR(p.server->Listen());
  p.url = o.public_url.empty() ? "http://" + o.host + ":" + std::to_string(p.server->port())
                               : o.public_url;
  while (!p.url.empty() && p.url.back() == '/') p.url.pop_back();
  // The handshake names this author by its URL; known only now, before anything is served.
  p.portal->SetAuthorUrl(p.url);
  PORTICO_RETURN_IF_ERROR(p.server->Start());
  p.publisher->Start();
  log::Info(
      "author_started",
      {{"url", p.url}, {"data", o.data_dir.string()}, {"org", o.org}, {"author_id", p.author_id}});
  return svc;
}

const std::string& AuthorService::url() const { return parts_->url; }
uint16_t AuthorService::port() const { return parts_->server->port(); }
const std::string& AuthorService::author_id() const { return parts_->author_id; }
AssetService& AuthorService::assets() { return *parts_->assets; }
ImsIntegrationService& AuthorService::ims() { return *parts_->ims; }
PortalIntegrationService& AuthorService::portal() { return *parts_->portal; }

void AuthorService::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.publisher) p.publisher->Stop();
  if (p.server) p.server->Stop();
}

}  // namespace portico::author
