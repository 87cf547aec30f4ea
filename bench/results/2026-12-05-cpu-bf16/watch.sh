#!/usr/bin/env bash
# Logs the wall-clock time each checkpoint of try-1 is written, with its epoch (checkpoints.txt).
cd /root/s11-full2 || exit 1
ck=runs/try-1/checkpoint.pt
last=""
while true; do
  if [ -f $ck ]; then
    m=$(stat -c %Y $ck)
    if [ "$m" != "$last" ]; then
      sleep 3
      e=$(nice -n 19 python -c "import torch; print(len(torch.load('$ck', weights_only=False, map_location='cpu')['history']))" 2>/dev/null)
      [ -n "$e" ] && echo "epoch $e checkpoint written $(date -u -d @$m +%FT%TZ)" >> checkpoints.txt
      last=$m
    fi
  fi
  grep -q '^end .*exit 0' starts.txt 2>/dev/null && break
  sleep 20
done
