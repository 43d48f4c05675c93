// portico-controller: not implemented yet (issue: Controller v1). It only
// documents its future interface so packaging and docs can refer to it.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf(
          "portico-controller: watches Ingress resources and streams route snapshots to\n"
          "portico-dataplane over gRPC. Not implemented yet: run portico-dataplane with\n"
          "--snapshot=FILE instead.\n");
      return 0;
    }
  }
  fprintf(stderr, "portico-controller: not implemented yet; see --help\n");
  return 1;
}
