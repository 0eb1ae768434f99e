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
  // Reads the subtree in one read transaction (AuthorStore::ListSubtree): folders by path, then
  // assets by path.
  StatusOr<std::vector<PublishObject>> Expand(const std::string& folder) override;
  StatusOr<int64_t> CurrentSeq() override { return store_.CurrentSeq(); }

  // PreconditionFailed ("no_cloud_service") until the portal cloud service is saved.
  StatusOr<PublishTarget> Target() override;

 private:
  AuthorStore& store_;
};

}  // namespace portico::author::publish
