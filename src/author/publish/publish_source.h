// What the publishing engine needs from the rest of the author, as interfaces, so the engine
// depends on neither the author's store nor its services: the objects to publish (one path, or a
// folder's whole subtree as it is now) and where to publish them (the tenant, the author's id,
// the agents). author_publish_source.h adapts the author's store to both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace portico::author::publish {

// One folder or asset as it is on the author at one moment (a publish is a snapshot of these).
struct PublishObject {
  bool is_folder = false;
  std::string path;  // canonical DAM path
  std::string title;
  int64_t modified_at = 0;  // Unix seconds
  int64_t seq = 0;          // the author's seq of its last change
  // Assets only:
  std::string sha256;
  int64_t size = 0;
  std::string content_type;
  int64_t version = 0;
};

// The author's folders and assets, read-only. Thread-safe; blocking (database).
class PublishSource {
 public:
  virtual ~PublishSource() = default;

  // The folder or asset at canonical `path`; NotFound if there is none.
  virtual StatusOr<PublishObject> Lookup(const std::string& path) = 0;

  // `folder` itself followed by every folder and asset below it, as they are now (folders before
  // their contents). NotFound if `folder` is not a folder. The whole list is the snapshot a folder
  // publish sends, so it should be read consistently (one read transaction where possible).
  virtual StatusOr<std::vector<PublishObject>> Expand(const std::string& folder) = 0;

  // The latest seq the author gave out (0 before any change). Every object's seq is at most this.
  virtual StatusOr<int64_t> CurrentSeq() = 0;
};

// Where to publish: the portal cloud service and its agents.
struct PublishTarget {
  std::string portal_url;  // http://host:port, without /t/...
  std::string tenant;
  std::string tenant_url;           // <portal_url>/t/<tenant>
  std::string author_id;            // sent as X-Portico-Author
  std::vector<std::string> agents;  // one publish queue (and worker) per agent
};

// The current target. Thread-safe; blocking.
class PublishTargetSource {
 public:
  virtual ~PublishTargetSource() = default;
  // The target, or PreconditionFailed ("no_cloud_service") while no cloud service is configured.
  virtual StatusOr<PublishTarget> Target() = 0;
};

// Splits "<portal>/t/<tenant>" into the portal's URL and the tenant; nullopt if it has not
// that shape.
std::optional<std::pair<std::string, std::string>> SplitTenantUrl(const std::string& tenant_url);

}  // namespace portico::author::publish
