"""scan log: every scan as it arrived, with who, which device, when and what it resolved to

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:46:17.642198
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scan_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('raw', sa.String(length=1000), nullable=False),
    sa.Column('normalized', sa.String(length=1000), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('resolved', sa.JSON(), nullable=True),
    sa.Column('error_reason', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.String(length=500), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=120), nullable=True),
    sa.Column('context', sa.String(length=64), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scan_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_log'))
    )
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_scan_log_user_id_created_at', ['user_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scan_log', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_log_user_id_created_at')
        batch_op.drop_index(batch_op.f('ix_scan_log_created_at'))

    op.drop_table('scan_log')
