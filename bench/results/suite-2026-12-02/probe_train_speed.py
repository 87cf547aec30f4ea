"""The probe of RESULTS section 14, tidied (the same steps as the ad-hoc script run on 2026-12-02), from the checkout's root:
    PYTHONPATH=. python bench/results/suite-2026-12-02/probe_train_speed.py
    PYTHONPATH=. OMP_NUM_THREADS=1 python bench/results/suite-2026-12-02/probe_train_speed.py
ResNet-9 SGD steps at batch 32 on random images: 2 warm-up steps, then 6 timed, NCHW then channels-last."""
import time

import torch

from s11lib.model import ResNet9

net = ResNet9()
print(torch.get_num_threads())
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(32, 3, 32, 32)
y = torch.randint(0, 10, (32,))


def bench(net, x, tag):
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    t, n = time.time(), 6
    for _ in range(n):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(tag, 32 * n / (time.time() - t), "img/s")


bench(net, x, "fp32")
bench(net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last), "channels_last")
