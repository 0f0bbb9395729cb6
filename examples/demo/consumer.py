"""Demo consumer: a Flask shop that asks the provider with `requests` before answering."""

import os

import requests
from flask import Flask, jsonify

from skywalking.decorators import trace

PROVIDER = f'http://127.0.0.1:{os.environ.get("PROVIDER_PORT", "9091")}'
app = Flask(__name__)


@trace(op='price-calculation')
def price(item: str) -> float:
    return round(len(item) * 1.25, 2)


@app.route('/buy/<item>')
def buy(item: str):
    stock = requests.get(f'{PROVIDER}/inventory/{item}', timeout=5).json()
    if not stock['in_stock']:
        return jsonify({'item': item, 'error': 'out of stock'}), 409
    return jsonify({'item': item, 'price': price(item)})


app.run(host='127.0.0.1', port=int(os.environ.get('PORT', '9090')), threaded=True)
