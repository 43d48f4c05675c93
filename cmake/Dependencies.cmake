# Every dependency is a Debian package (scripts/install-deps.sh); nothing is downloaded.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Protobuf REQUIRED)
# gRPC ships a CMake config (gRPC::grpc++, gRPC::grpc_cpp_plugin) in libgrpc++-dev.
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(GTest REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# uriparser (RFC 3986) parses URL annotations such as auth-url.
pkg_check_modules(URIPARSER REQUIRED IMPORTED_TARGET liburiparser)
# Response compression (dataplane/policy/compression.cc).
find_package(ZLIB REQUIRED)
pkg_check_modules(BROTLI REQUIRED IMPORTED_TARGET libbrotlienc libbrotlidec)

# libev ships no pkg-config or CMake file.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(portico_libev INTERFACE)
target_include_directories(portico_libev SYSTEM INTERFACE ${LIBEV_INCLUDE_DIR})
target_link_libraries(portico_libev INTERFACE ${LIBEV_LIBRARY})

include(Llhttp)
