#include "core/http/router.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

Handler Named(int id) {
  return [id](Request&) { return Response::Text(200, std::to_string(id)); };
}

TEST(RouterTest, LiteralParamAndRestSegments) {
  Router r;
  r.Add("GET", "/api/orgs/{org}/projects/{project}", Named(1));
  r.Add("GET", "/api/orgs/{org}/projects/new", Named(2));
  r.Add("GET", "/files/{path*}", Named(3));
  auto m = r.Match("GET", "/api/orgs/A1/projects/p9");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/orgs/{org}/projects/{project}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].second, "A1");
  EXPECT_EQ(m.params[1].second, "p9");
  // The literal segment wins over the parameter.
  m = r.Match("GET", "/api/orgs/A1/projects/new");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/orgs/{org}/projects/new");
  m = r.Match("GET", "/files/a/b/c.jpg");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params[0].second, "a/b/c.jpg");
}

TEST(RouterTest, TrailingSlashIsADifferentPath) {
  Router r;
  r.Add("POST", "/ims/exchange/jwt", Named(1));
  EXPECT_NE(r.Match("POST", "/ims/exchange/jwt").route, nullptr);
  EXPECT_EQ(r.Match("POST", "/ims/exchange/jwt/").route, nullptr);
}

TEST(RouterTest, WrongMethodListsAllowedOnes) {
  Router r;
  r.Add("POST", "/token", Named(1));
  r.Add("DELETE", "/token", Named(2));
  auto m = r.Match("GET", "/token");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"POST", "DELETE"}));
  EXPECT_TRUE(r.Match("GET", "/nothing").allowed_methods.empty());
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router r;
  r.Add("GET", "/healthz", Named(1));
  EXPECT_NE(r.Match("HEAD", "/healthz").route, nullptr);
}

TEST(RouterTest, EmptySegmentDoesNotMatchAParameter) {
  Router r;
  r.Add("GET", "/orgs/{org}", Named(1));
  EXPECT_EQ(r.Match("GET", "/orgs/").route, nullptr);
}

}  // namespace
}  // namespace portico::http
