#include "portal/portal_service.h"

#include <sys/stat.h>

#include "core/http/server.h"
#include "core/http/standard_routes.h"
#include "core/log.h"
#include "core/metrics.h"
#include "ims/client/token_verifier.h"
#include "portal/api/portal_api.h"
#include "portal/store/portal_store.h"
#include "store/fs_blob_store.h"
#include "store/sqlite_database.h"

namespace portico::portal {

struct PortalService::Parts {
  PortalSettings settings;
  std::unique_ptr<store::SqlDatabase> db;
  std::unique_ptr<PortalStore> store;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<ims::TokenVerifier> verifier;
  std::unique_ptr<TenantService> tenants;
  std::unique_ptr<IngestService> ingest;
  std::unique_ptr<CatalogService> catalog;
  Metrics metrics;
  std::unique_ptr<http::Server> server;
  bool stopped = false;
};

PortalService::PortalService() : parts_(std::make_unique<Parts>()) {}
PortalService::~PortalService() { Stop(); }

StatusOr<std::unique_ptr<PortalService>> PortalService::Start(const PortalOptions& o) {
  std::unique_ptr<PortalService> svc(new PortalService());
  Parts& p = *svc->parts_;
  const Clock& clock = o.clock ? *o.clock : SystemClock();
  if (o.ims_url.empty()) {
    return InvalidArgument("the portal needs the identity service's URL (--ims or ims_url)");
  }
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    return InvalidArgument("cannot create data folder " + o.data_dir.string() + ": " +
                           ec.message());
  }
  ::chmod(o.data_dir.c_str(), 0700);

  PORTICO_ASSIGN_OR_RETURN(p.db, store::OpenSqlite({.path = o.data_dir / "portal.db"}));
  PORTICO_ASSIGN_OR_RETURN(p.store, PortalStore::Open(*p.db));
  PORTICO_ASSIGN_OR_RETURN(p.blobs, store::OpenFsBlobStore({.root = o.data_dir / "blobs"}));
  std::string issuer = o.ims_url;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  ims::TokenVerifierOptions vo;
  vo.issuer = issuer;
  vo.clock = &clock;
  p.verifier = std::make_unique<ims::TokenVerifier>(vo);

  p.tenants = std::make_unique<TenantService>(*p.store, clock, p.settings);
  p.ingest = std::make_unique<IngestService>(*p.store, *p.blobs, *p.tenants, clock);
  p.catalog = std::make_unique<CatalogService>(*p.store, *p.blobs, *p.tenants);

  http::Router router;
  AddPortalRoutes(router, {p.verifier.get(), p.tenants.get(), p.ingest.get(), p.catalog.get()});
  PortalStore* st = p.store.get();
  http::AddStandardRoutes(
      router, &p.metrics, [st] { return st->Ping(); }, "Portico portal");
  http::ServerOptions so;
  so.service = "portal";
  so.host = o.host;
  so.port = o.port;
  so.handler_threads = o.handler_threads;
  so.access_log = o.access_log;
  p.server = std::make_unique<http::Server>(so, std::move(router), &p.metrics);
  PORTICO_RETURN_IF_ERROR(p.server->Listen());
  // Nothing is served between Listen and Start, so the rules see the final URL from the start.
  p.settings.public_url = o.public_url.empty()
                              ? "http://" + o.host + ":" + std::to_string(p.server->port())
                              : o.public_url;
  while (!p.settings.public_url.empty() && p.settings.public_url.back() == '/')
    p.settings.public_url.pop_back();
  PORTICO_RETURN_IF_ERROR(p.server->Start());
  // Warm the key cache; an identity service that is not up yet is fetched from later.
  if (Status ks = p.verifier->Refresh(); !ks.ok()) {
    log::Warn("jwks_unavailable", {{"reason", ks.message()}});
  }
  log::Info("portal_started",
            {{"url", p.settings.public_url}, {"ims", issuer}, {"data", o.data_dir.string()}});
  return svc;
}

const std::string& PortalService::url() const { return parts_->settings.public_url; }
uint16_t PortalService::port() const { return parts_->server->port(); }
TenantService& PortalService::tenants() { return *parts_->tenants; }
IngestService& PortalService::ingest() { return *parts_->ingest; }
CatalogService& PortalService::catalog() { return *parts_->catalog; }

void PortalService::Stop() {
  Parts& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  if (p.server) p.server->Stop();
}

}  // namespace portico::portal
