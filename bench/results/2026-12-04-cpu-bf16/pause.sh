#!/usr/bin/env bash
# pause.sh stop|cont: SIGSTOP/SIGCONT the run's processes, logged in pauses.txt.
cd /root/s11-full || exit 1
pids=$(pgrep -f 'execute_notebook.py|ipykernel_launcher')
case "$1" in
  stop) kill -STOP $pids && echo "paused $(date -u +%T)" >> pauses.txt ;;
  cont) kill -CONT $pids && echo "resumed $(date -u +%T)" >> pauses.txt ;;
  *) echo "usage: pause.sh stop|cont"; exit 2 ;;
esac
