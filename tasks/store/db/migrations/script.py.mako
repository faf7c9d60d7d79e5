"""${message[:1].upper() + message[1:]}.

Revision ${up_revision}, after ${down_revision | comma,n}. Frozen once released: spell out
columns and types here instead of importing tables.py, which always describes the latest schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
