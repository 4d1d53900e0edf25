#include "spec/task_spec.h"

namespace isoexec::spec {

const std::vector<ChrootEnvEntry>& DefaultChrootEnv() {
  static const std::vector<ChrootEnvEntry> kDefault = {
      {"/bin", "/bin"},     {"/etc", "/etc"},       {"/lib", "/lib"},
      {"/lib32", "/lib32"}, {"/lib64", "/lib64"},   {"/sbin", "/sbin"},
      {"/usr", "/usr"},     {"/run/resolvconf", "/run/resolvconf"},
      {"/run/systemd/resolve", "/run/systemd/resolve"},
  };
  return kDefault;
}

}  // namespace isoexec::spec
