#pragma once
// Deterministic wire bytes of snapshot messages. The snapshot has no map
// fields, and freshly built messages carry no unknown fields, so equal bytes
// mean equal messages. Much cheaper than MessageDifferencer's reflection,
// which at 10,000 virtual hosts took a quarter of every snapshot store update.

#include <cstddef>
#include <string>

#include "google/protobuf/message.h"

namespace portico::v1 {

// Into `bytes` (resized to `size`). `size` must be m.ByteSizeLong(), called
// just before: it fills the cached sizes this serialization uses.
void SerializeDeterministic(const google::protobuf::Message& m, size_t size, std::string& bytes);

std::string WireBytes(const google::protobuf::Message& m);

// Same type and the same deterministic bytes.
bool SameWireBytes(const google::protobuf::Message& a, const google::protobuf::Message& b);

}  // namespace portico::v1
