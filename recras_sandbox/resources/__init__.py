"""The Recras resources beyond customers: bookings, invoices, their lines, payments and the
reference tables (docs/vendor/recras-endpoints.md).

``money`` renders amounts under the ``money`` reading, ``table`` holds the rows of one
resource, ``reference`` and ``bookings`` generate the seeded data, ``ledger`` holds every
table and the links between them (with ``database`` persisting them), ``endpoints`` answers
the ``/api2`` routes and ``admin`` the ``/_sandbox`` ones.
"""
