"""The baseline of bench/intake.py: a bare DRF create (a ModelSerializer over a model shaped like a call, no
service, no audit, no routing) served by the same stack. Installed only by bench/intake_settings.py; its
table is made by `migrate --run-syncdb` in the benchmark's own database."""
