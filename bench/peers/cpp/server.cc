// GetItem on the inventory.v1 contract with C++ gRPC's callback API, for bench/run.sh.
// Serves the Inventory sample items from memory (like every peer server; see docs/benchmarks.md on data access).
// usage: inventory_peer PORT
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "inventory/v1/inventory.grpc.pb.h"

namespace {

using inventory::v1::GetItemRequest;
using inventory::v1::GetItemResponse;
using inventory::v1::InventoryService;
using inventory::v1::Item;

bool ValidSku(const std::string& sku) {
  if (sku.empty() || sku.size() > 64) return false;
  for (char c : sku) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

class InventoryPeer final : public InventoryService::CallbackService {
 public:
  InventoryPeer() {
    const struct { const char* sku; const char* name; int available; } sample[] = {
        {"KB-001", "Mechanical keyboard", 50},       {"MS-002", "Wireless mouse", 120},
        {"MN-003", "27-inch 4K monitor", 15},        {"HS-004", "Noise-cancelling headset", 40},
        {"CB-005", "USB-C cable, 2 m", 300},         {"DK-006", "Thunderbolt docking station", 3},
        {"WC-007", "1080p webcam", 25},              {"LS-008", "Aluminium laptop stand", 60},
    };
    auto seeded = google::protobuf::util::TimeUtil::GetCurrentTime();
    for (const auto& s : sample) {
      Item item;
      item.set_sku(s.sku);
      item.set_name(s.name);
      item.set_available(s.available);
      *item.mutable_updated_at() = seeded;
      items_.emplace(s.sku, item);
    }
  }

  grpc::ServerUnaryReactor* GetItem(grpc::CallbackServerContext* context, const GetItemRequest* request,
                                    GetItemResponse* response) override {
    auto* reactor = context->DefaultReactor();
    if (!ValidSku(request->sku())) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sku: not a valid SKU"));
      return reactor;
    }
    auto found = items_.find(request->sku());
    if (found == items_.end()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "inventory.v1.Item " + request->sku() + " not found"));
      return reactor;
    }
    *response->mutable_item() = found->second;
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  std::map<std::string, Item> items_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string address = std::string("127.0.0.1:") + (argc > 1 ? argv[1] : "5204");
  InventoryPeer service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server(builder.BuildAndStart());
  if (!server) {
    std::fprintf(stderr, "could not listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("c++ grpc %s listening on %s\n", grpc::Version().c_str(), address.c_str());
  std::fflush(stdout);
  server->Wait();
  return 0;
}
