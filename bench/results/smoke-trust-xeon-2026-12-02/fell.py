import json, sys, numpy as np
from s11lib.lr_rules import smooth, first_rise
def fell(t):
    c = smooth(np.asarray(t['losses'], float)); r = first_rise(c); return (c[0]-c[:r].min())/c[0]
for f in sys.argv[1:]:
    d = json.load(open(f))
    print(f, [f"{fell(t):.1%}" for t in d['tests']], [f"{t['lr_max']:.3g}" for t in d['tests']], 'trusted', d['trusted'], d.get('warnings'))
