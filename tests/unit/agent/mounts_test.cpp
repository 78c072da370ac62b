// Binds, Mounts, Tmpfs and image volumes: what each becomes, and dockerd's errors.
#include <gtest/gtest.h>

#include "core/mounts.h"

namespace berth::agent {
namespace {

TEST(Binds, Forms) {
  auto b = parse_bind("/host:/ctr:ro,rshared");
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(b->type, "bind");
  EXPECT_EQ(b->source, "/host");
  EXPECT_EQ(b->destination, "/ctr");
  EXPECT_FALSE(b->rw);
  EXPECT_EQ(b->propagation, "rshared");
  EXPECT_EQ(b->mode, "ro,rshared");
  auto v = parse_bind("data:/var/lib/data");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->type, "volume");
  EXPECT_EQ(v->name, "data");
  EXPECT_TRUE(v->copy_up);
  EXPECT_TRUE(v->rw);
  auto nc = parse_bind("data:/d:nocopy");
  ASSERT_TRUE(nc);
  EXPECT_FALSE(nc->copy_up);
  auto anon = parse_bind("/scratch");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->type, "volume");
  EXPECT_TRUE(anon->anonymous);
  EXPECT_TRUE(anon->name.empty());
  auto anon_ro = parse_bind("/scratch:ro");
  ASSERT_TRUE(anon_ro);
  EXPECT_EQ(anon_ro->destination, "/scratch");
  EXPECT_FALSE(anon_ro->rw);
  auto slash = parse_bind("/a//b/:/c/");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->source, "/a/b");
  EXPECT_EQ(slash->destination, "/c");
}

TEST(Binds, Errors) {
  auto rel = parse_bind("./src:/x");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().message,
            "create ./src: \"./src\" includes invalid characters for a local volume name, only "
            "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
  auto reldst = parse_bind("vol:data");
  ASSERT_FALSE(reldst);
  EXPECT_NE(reldst.error().message.find("mount path must be absolute"), std::string::npos);
  EXPECT_FALSE(parse_bind("/a:/b:c:d"));
  EXPECT_FALSE(parse_bind("/a:/b:bogus"));
  EXPECT_FALSE(parse_bind("/a:/b:ro,rw"));
  EXPECT_FALSE(parse_bind("vol:/b:rshared"));  // propagation is for binds
  EXPECT_FALSE(parse_bind("/a:/"));
  EXPECT_FALSE(parse_bind(""));
}

TEST(Mounts, CollectsAllKindsAndRefusesDuplicates) {
  HostConfig h;
  h.binds = {"/h:/data"};
  MountSpec tmp;
  tmp.type = "tmpfs";
  tmp.target = "/cache";
  tmp.tmpfs_size = 1 << 20;
  tmp.tmpfs_mode = 01777;
  MountSpec vol;
  vol.type = "volume";
  vol.target = "/v";
  vol.no_copy = true;
  h.mounts = {tmp, vol};
  h.tmpfs = {{"/run", "size=64m,exec"}};
  auto m = parse_mounts(h, {"/data", "/image-volume"});
  ASSERT_TRUE(m) << m.error().what();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ((*m)[1].tmpfs_options, "noexec,nosuid,nodev,size=1048576,mode=1777");
  EXPECT_TRUE((*m)[2].anonymous);
  EXPECT_FALSE((*m)[2].copy_up);
  EXPECT_EQ((*m)[3].tmpfs_options, "noexec,nosuid,nodev,size=64m,exec");
  // /data is covered by the bind; /image-volume gets an anonymous volume.
  EXPECT_EQ((*m)[4].destination, "/image-volume");
  EXPECT_TRUE((*m)[4].anonymous);

  HostConfig dup;
  dup.binds = {"/a:/x", "vol:/x"};
  auto d = parse_mounts(dup, {});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Duplicate mount point: /x");

  HostConfig badtype;
  MountSpec weird;
  weird.type = "npipe";
  weird.target = "/x";
  badtype.mounts = {weird};
  EXPECT_FALSE(parse_mounts(badtype, {}));

  HostConfig tmpsrc;
  MountSpec t2;
  t2.type = "tmpfs";
  t2.source = "/x";
  t2.target = "/y";
  tmpsrc.mounts = {t2};
  auto ts = parse_mounts(tmpsrc, {});
  ASSERT_FALSE(ts);
  EXPECT_EQ(ts.error().message, "invalid mount config for type \"tmpfs\": field Source must not be specified");

  HostConfig relbind;
  MountSpec rb;
  rb.type = "bind";
  rb.source = "rel";
  rb.target = "/y";
  relbind.mounts = {rb};
  auto r = parse_mounts(relbind, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute");
}

TEST(Mounts, TmpfsOptions) {
  EXPECT_EQ(tmpfs_options("", "/t").value(), "noexec,nosuid,nodev");
  EXPECT_EQ(tmpfs_options("rw,size=10m,mode=700", "/t").value(), "noexec,nosuid,nodev,rw,size=10m,mode=700");
  EXPECT_FALSE(tmpfs_options("bogus=1", "/t"));
  EXPECT_FALSE(tmpfs_options("size=lots", "/t"));
}

}  // namespace
}  // namespace berth::agent
