"""kvqae.encode"""
