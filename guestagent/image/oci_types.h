// OCI image-spec and Docker schema2 documents: media types, descriptors, manifests, indexes,
// and layer chain ids. Parsing is strict about the fields berth relies on and names them in errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "platform.h"

namespace berth::agent::image {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media_type

bool is_index_media_type(std::string_view mt);
bool is_manifest_media_type(std::string_view mt);
bool is_layer_media_type(std::string_view mt);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
};

struct Manifest {
  std::string media_type;  // from the document, or the type it was served as
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// `content_type` is what the registry said (may be empty); the document's own mediaType wins
// when present. Errors: invalid_argument naming the field, unsupported for schema1.
Result<Manifest> parse_manifest(std::string_view json, std::string_view content_type = {});
Result<Index> parse_index(std::string_view json, std::string_view content_type = {});
// Whether a manifest document is an index/list (true) or an image manifest (false).
Result<bool> is_index_document(std::string_view json, std::string_view content_type);

Json descriptor_to_json(const Descriptor& d);
// Canonical serialisation used for manifests berth writes itself (save, load of docker-archive).
std::string manifest_to_json(const Manifest& m);
std::string index_to_json(const Index& idx);

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

}  // namespace berth::agent::image
