// The author's store seen as the publishing engine's PublishSource and PublishTargetSource.
// Thread-safe; blocking.
#pragma once

#include "author/publish/publish_source.h"
#include "author/store/author_store.h"

namespace portico::author::publish {

class AuthorPublishSource final : public PublishSource, public PublishTargetSource {
 public:
  // `store` must outlive this.
  explicit AuthorPublishSource(AuthorStore& store) : store_(store) {}

  StatusOr<PublishObject> Lookup(const std::string& path) override;
  // Walks the tree page by page (the author's store has no subtree read in one transaction yet,
  // so an upload that lands during the walk may or may not be in the snapshot).
  StatusOr<std::vector<PublishObject>> Expand(const std::string& folder) override;
  StatusOr<int64_t> CurrentSeq() override { return store_.CurrentSeq(); }

  // PreconditionFailed ("no_cloud_service") until the portal cloud service is saved.
  StatusOr<PublishTarget> Target() override;

 private:
  AuthorStore& store_;
};

}  // namespace portico::author::publish
