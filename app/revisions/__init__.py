"""The dataset revision: the counter every data change bumps (models) and the trackers
that know its value without asking the database on every request (trackers).

Caches and ETags key on it; the ORM side stays framework-free.
"""
