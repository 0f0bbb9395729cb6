"""Consumer: a FastAPI app on uvicorn calling the provider with `requests` (from sync
endpoints, which Starlette runs in its thread pool)."""

import os

import requests
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'
app = FastAPI()


@app.get('/users')
def users():
    get_context().put_correlation('correlation', 'correlation')
    return requests.post(f'{PROVIDER}/users', timeout=5).json()


@app.get('/error')
def error():
    response = requests.get(f'{PROVIDER}/error', timeout=5)
    return JSONResponse({'provider_status': response.status_code, 'provider': response.json()}, status_code=502)


uvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning')
