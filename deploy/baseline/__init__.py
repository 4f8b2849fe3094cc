"""The security baseline: level-3 controls (Decree 85/2016/NĐ-CP, TCVN 11930:2017) a
server deploy carries, each with a read-only check (:mod:`.controls`), and the audit
that runs the checks over SSH (:mod:`.audit`)."""
