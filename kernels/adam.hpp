#pragma once
// Adam (Kingma & Ba, ICLR'15) with L2 weight decay added to the gradient, as torch.optim.Adam:
//   g = grad + wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#include <cstdint>

namespace tg {

struct adam_config {
  double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

// One step for n parameters; `step` counts from 1.
template <typename T>
void adam_step(T* param, const T* grad, T* m, T* v, std::int64_t n, const adam_config& cfg, std::int64_t step);

}  // namespace tg
