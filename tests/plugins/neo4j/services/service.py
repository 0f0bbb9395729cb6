"""Neo4j driver cases, sync and async, against the tests' stand-in for Neo4j (Bolt 4.4 on
127.0.0.1:$BOLT_PORT). Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=32."""

import asyncio
import os
import sys
from pathlib import Path

from neo4j import AsyncGraphDatabase, GraphDatabase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

URI = f'bolt://127.0.0.1:{os.environ["BOLT_PORT"]}'
driver = GraphDatabase.driver(URI, auth=('neo4j', 'password'))


def session_run():
    with driver.session() as session:
        first = session.run('RETURN $value AS value', {'value': 'one'}).single()['value']
        second = session.run('RETURN 1 AS value').single()['value']  # no parameters argument
        return [first, second]


def transaction_run():
    with driver.session(database='neo4j') as session, session.begin_transaction() as tx:
        value = tx.run('RETURN $value AS value', value=42).single()['value']
        tx.commit()
        return value


def syntax_error():
    with driver.session() as session:
        session.run('THIS IS A SYNTAX ERROR').consume()


async def _concurrent():
    adriver = AsyncGraphDatabase.driver(URI, auth=('neo4j', 'password'))

    async def one(i):
        async with adriver.session() as session:
            result = await session.run('RETURN $value AS value', value=i)
            return (await result.single())['value']

    try:
        values = await asyncio.gather(*(one(i) for i in range(50)))
        async with adriver.session() as session:
            tx = await session.begin_transaction()
            result = await tx.run('RETURN $value AS value', value='tx')
            in_tx = (await result.single())['value']
            await tx.commit()
        return [sum(values), in_tx]
    finally:
        await adriver.close()


serve(
    {
        'session_run': session_run,
        'transaction_run': transaction_run,
        'syntax_error': syntax_error,
        'async_run': lambda: asyncio.run(_concurrent()),
    }
)
